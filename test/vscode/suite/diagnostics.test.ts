// Diagnostics and the outline as a user sees them in VS Code: a broken machines file shows
// Nix's error on the exact column, and the outline lists one entry per machine.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { assertShowsRows, assertShowsText, screenshotShowing, waitFor, workspaceFile } from './helpers';

suite('Diagnostics in VS Code', () => {
  test('a bad machines file shows the error at the right range', async () => {
    const uri = workspaceFile('bad.machines');
    const text = '# maxJobs must be a number\nssh://nix@builder x86_64-linux - four 1\nssh://nix@other x86-64-linux\n';
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    const editor = await vscode.window.showTextDocument(uri);
    assert.equal(editor.document.languageId, 'nix-machines');

    const diagnostics = await waitFor('diagnostics on bad.machines', () => {
      const found = vscode.languages.getDiagnostics(uri);
      return found.length >= 2 ? found : undefined;
    });
    const error = diagnostics.find((d) => d.code === 'max-jobs-not-integer');
    assert.ok(error, `max-jobs-not-integer among ${JSON.stringify(diagnostics.map((d) => d.code))}`);
    assert.equal(error.severity, vscode.DiagnosticSeverity.Error);
    assert.deepEqual([error.range.start.line, error.range.start.character, error.range.end.character], [1, 33, 37]);
    assert.equal(editor.document.getText(error.range), 'four');

    const warning = diagnostics.find((d) => d.code === 'unknown-system');
    assert.ok(warning);
    assert.equal(warning.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(editor.document.getText(warning.range), 'x86-64-linux');

    // What the user sees: the Problems panel lists both, in Nix's words, on their columns.
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    await screenshotShowing('diagnostics', (shot) => {
      assertShowsRows(shot, 'panel', [
        /^bad\.machines\b/,
        /^Nix rejects this entry: "bad machine specification: .*max-jobs-not-integer.*\[Ln 2, Col 34\]$/,
        /^No derivation is built for the system 'x86-64-linux'.*Did you mean x86_64-linux\?.*\[Ln 3, Col 17\]$/,
      ]);
      assertShowsText(shot, 'editor', [/ssh:\/\/nix@builder x86_64-linux .*four 1/]);
    });
  });

  test('the outline has one symbol per machine, named by host', async () => {
    const uri = workspaceFile('machines');
    await vscode.window.showTextDocument(uri);
    const symbols = await waitFor('document symbols', () =>
      vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', uri),
    );
    assert.deepEqual(
      symbols.map((s) => s.name),
      ['nix@builder.example.org', 'mac-mini.local', 'pi@raspberry-pi.local'],
    );
  });
});
