// Editing a machines file in VS Code: completion offers what fits the column, a hover says how
// Nix reads a value, a quick fix changes the file as it says, Format Document aligns the table.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { assertShowsRows, assertShowsText, screenshotShowing, waitFor, workspaceFile } from './helpers';

async function writeAndOpen(name: string, text: string): Promise<vscode.TextEditor> {
  const uri = workspaceFile(name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  const editor = await vscode.window.showTextDocument(uri);
  assert.equal(editor.document.languageId, 'nix-machines');
  return editor;
}

const labelOf = (item: vscode.CompletionItem) => (typeof item.label === 'string' ? item.label : item.label.label);

suite('Editing in VS Code', () => {
  test('completion in the systems column offers the systems Nix knows, this machine first', async () => {
    const editor = await writeAndOpen('editing-complete.machines', '# a new builder\nssh://nix@builder \n');
    const position = new vscode.Position(1, 'ssh://nix@builder '.length);
    const list = await waitFor('completion items from the language server', async () => {
      const result = await vscode.commands.executeCommand<vscode.CompletionList>(
        'vscode.executeCompletionItemProvider',
        editor.document.uri,
        position,
      );
      return result.items.some((i) => labelOf(i) === 'aarch64-darwin') ? result : undefined;
    });
    const labels = [...list.items]
      .sort((a, b) => (a.sortText ?? labelOf(a)).localeCompare(b.sortText ?? labelOf(b)))
      .map(labelOf);
    assert.deepEqual(labels.slice(0, 3), ['-', 'x86_64-linux', 'aarch64-linux']);
    assert.ok(!labels.includes('ssh://'), 'no URIs in column 2');

    // What the user sees: the suggest widget at that column.
    editor.selection = new vscode.Selection(position, position);
    await vscode.commands.executeCommand('editor.action.triggerSuggest');
    await screenshotShowing('completion-systems', (shot) => {
      assertShowsRows(shot, 'suggest', [/^- default\b/, /^x86_64-linux\b/, /^aarch64-linux\b/]);
      assert.ok(!shot.shows.suggest.rows.some((row) => row.startsWith('ssh://')), 'no URIs in the widget');
    });
    await vscode.commands.executeCommand('hideSuggestWidget');
  });

  test('a hover on maxJobs says how Nix reads the value', async () => {
    const editor = await writeAndOpen('editing-hover.machines', 'ssh://nix@builder x86_64-linux - 0 1\n');
    const position = new vscode.Position(0, 'ssh://nix@builder x86_64-linux - '.length);
    const hovers = await waitFor('a hover from the language server', async () => {
      const result = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        editor.document.uri,
        position,
      );
      return result.length > 0 ? result : undefined;
    });
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /\*\*maxJobs\*\* · column 4/);
    assert.match(text, /maxJobs 0: Nix never gives this machine a job/);
    editor.selection = new vscode.Selection(position, position);
    await vscode.commands.executeCommand('editor.action.showHover');
    await screenshotShowing('hover-maxjobs', (shot) => {
      assertShowsText(shot, 'hover', [/maxJobs · column 4/, /Nix never gives it a job/]);
    });
  });

  test('the quick fix for an unknown system changes the file to the nearest system', async () => {
    const editor = await writeAndOpen('editing-fix.machines', 'ssh://nix@builder x86-64-linux - 4\n');
    const uri = editor.document.uri;
    const diagnostic = await waitFor('the unknown-system warning', () =>
      vscode.languages.getDiagnostics(uri).find((d) => d.code === 'unknown-system'),
    );
    const actions = await waitFor('code actions', async () => {
      const result = await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        uri,
        diagnostic.range,
      );
      return result.some((a) => a.title === 'Change to x86_64-linux') ? result : undefined;
    });
    const fix = actions.find((a) => a.title === 'Change to x86_64-linux')!;
    assert.equal(fix.kind?.value, 'quickfix');
    assert.ok(fix.edit);
    assert.equal(await vscode.workspace.applyEdit(fix.edit), true);
    assert.equal(editor.document.getText(), 'ssh://nix@builder x86_64-linux - 4\n');
    await waitFor(
      'the warning to go away',
      () => !vscode.languages.getDiagnostics(uri).some((d) => d.code === 'unknown-system'),
    );
  });

  test('Format Document aligns the machines into a table', async () => {
    const text =
      '# builders\nssh://nix@builder.example.org x86_64-linux - 8 2 big-parallel\nssh-ng://mac aarch64-darwin - 4   1 # the Mac\n';
    const editor = await writeAndOpen('editing-format.machines', text);
    const edits = await waitFor('formatting edits', async () => {
      const result = await vscode.commands.executeCommand<vscode.TextEdit[]>(
        'vscode.executeFormatDocumentProvider',
        editor.document.uri,
        { tabSize: 2, insertSpaces: true },
      );
      return result && result.length > 0 ? result : undefined;
    });
    const edit = new vscode.WorkspaceEdit();
    edit.set(editor.document.uri, edits);
    assert.equal(await vscode.workspace.applyEdit(edit), true);
    assert.equal(
      editor.document.getText(),
      '# builders\nssh://nix@builder.example.org  x86_64-linux    -  8  2  big-parallel\nssh-ng://mac                   aarch64-darwin  -  4  1 # the Mac\n',
    );
  });
});
