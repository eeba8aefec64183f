// The commands as a user meets them: one category in the palette, Open Machines File offering to
// create a file that is missing, and Add Builder saying what it added and where.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { assertShowsText, extensionId, screenshotShowing, waitFor } from './helpers';

async function showNotifications(): Promise<void> {
  await vscode.commands.executeCommand('notifications.showList');
}

suite('The commands', () => {
  test('every command is in one category, "Nix Builders"', () => {
    const manifest = vscode.extensions.getExtension(extensionId)!.packageJSON as {
      contributes: { commands: { command: string; category?: string }[] };
    };
    const others = manifest.contributes.commands
      .filter((c) => c.category !== 'Nix Builders')
      .map((c) => `${c.command}: ${c.category}`);
    assert.deepEqual(others, []);
  });

  test('Open Machines File offers to create a missing file (screenshot)', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'nixrb-open-')), 'machines');
    const settings = vscode.workspace.getConfiguration('nixBuilders');
    await settings.update('machinesFile', missing, vscode.ConfigurationTarget.Workspace);
    try {
      await vscode.commands.executeCommand('notifications.clearAll');
      // Not awaited: the command waits for the user's choice.
      void vscode.commands.executeCommand('nixBuilders.openMachinesFile');
      await screenshotShowing(
        'open-missing-machines-file',
        (shot) => {
          assertShowsText(shot, 'notificationCenter', [
            new RegExp(`There is no machines file at ${missing}\\.`),
            /\bCreate\b/,
            /Choose Another File/,
          ]);
        },
        10_000,
        showNotifications,
      );
    } finally {
      await vscode.commands.executeCommand('notifications.clearAll');
      await settings.update('machinesFile', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('Add Builder says it added a template line, and where (screenshot)', async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('nixBuilders.addBuilder');
    const editor = await waitFor('the machines file with the new line', () => {
      const active = vscode.window.activeTextEditor;
      return active?.document.isDirty &&
        active.document.getText().includes('ssh://nix@builder.example.org x86_64-linux - 4 1 - - -')
        ? active
        : undefined;
    });
    try {
      await screenshotShowing(
        'add-builder',
        (shot) => {
          assertShowsText(shot, 'notificationCenter', [
            /Added a template line at the end of \S*machines: fill in the builder \(Tab moves to the next column\), then save\./,
          ]);
          assertShowsText(shot, 'editor', [/builder\.example\.org/]);
        },
        10_000,
        showNotifications,
      );
    } finally {
      // The workspace's file stays as it is on disk for the other suites (the view lists what an open editor holds).
      const document = editor.document;
      const onDisk = readFileSync(document.uri.fsPath, 'utf8');
      const edit = new vscode.WorkspaceEdit();
      edit.replace(
        document.uri,
        new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)),
        onDisk,
      );
      await vscode.workspace.applyEdit(edit);
      await document.save();
      await vscode.window.showTextDocument(document);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      await vscode.commands.executeCommand('notifications.clearAll');
    }
  });
});
