// "Choose a key file…" for a missing SSH key: the file dialog is the editor's, so it opens
// here; the server's code action says where the key goes (column 3's range) and where to start.
import * as vscode from 'vscode';
import type { ChooseKeyFileArguments } from '../../server/src/protocol';

/** Nix splits a line into columns at whitespace and ends an entry at `#` (and `;` on 2.8): no path with one fits a column. */
const breaksTheLine = /[\s#;]/;

export async function chooseKeyFile(args: ChooseKeyFileArguments): Promise<void> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(args.startIn),
    openLabel: 'Use this key',
    title: 'The private key ssh logs in to the builder with (not the .pub)',
  });
  const path = picked?.[0]?.fsPath;
  if (path === undefined) return;
  if (breaksTheLine.test(path)) {
    void vscode.window.showErrorMessage(
      `'${path}' has a space, '#' or ';', which would split the machines line: move the key, or link it from a path without one.`,
    );
    return;
  }
  const { start, end } = args.range;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(
    vscode.Uri.parse(args.uri),
    new vscode.Range(start.line, start.character, end.line, end.character),
    path,
  );
  await vscode.workspace.applyEdit(edit);
}
