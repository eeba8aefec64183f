// Builders declared in a configuration.nix, as a user sees them in VS Code: the file is a `nix`
// document the server registered for, the diagnostic sits on the attribute, the hover and the
// inlay hint show the line NixOS writes, and the Remote Builders view lists the declared builders.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import { extensionId, screenshot, waitFor, workspaceFile } from './helpers';

const text = `{ config, pkgs, ... }:
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    {
      hostName = "builder.example.org";
      sshUser = "nix";
      systems = [ "x86_64-linux" "x86-64-linux" ];
      maxJobs = 4;
      supportedFeatures = [ "kvm" "big-parallel" ];
    }
    {
      hostName = "mac-mini.local";
      system = "aarch64-darwin";
    }
  ];
}
`;

suite('Builders declared in Nix', () => {
  test('configuration.nix: a diagnostic on the attribute, the rendered line, the builders in the view', async () => {
    const uri = workspaceFile('configuration.nix');
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    const editor = await vscode.window.showTextDocument(uri);
    assert.equal(editor.document.languageId, 'nix');

    const diagnostics = await waitFor('diagnostics on configuration.nix', () => {
      const found = vscode.languages.getDiagnostics(uri);
      return found.length > 0 ? found : undefined;
    });
    const system = diagnostics.find((d) => d.code === 'unknown-system');
    assert.ok(system, JSON.stringify(diagnostics.map((d) => d.code)));
    assert.equal(editor.document.getText(system.range), '"x86-64-linux"');

    const position = editor.document.positionAt(text.indexOf('hostName'));
    const hovers = await waitFor('a hover on the entry', async () => {
      const found = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position);
      return found.length > 0 ? found : undefined;
    });
    const shown = hovers
      .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : '')))
      .join('\n');
    assert.match(shown, /ssh:\/\/nix@builder\.example\.org x86_64-linux,x86-64-linux - 4 1 kvm,big-parallel - -/);

    const extension = vscode.extensions.getExtension<NixBuildersApi>(extensionId);
    const { machinesTree } = await extension!.activate();
    machinesTree.refresh();
    const declared = await waitFor('the declared builders in the view', async () => {
      const nodes = await machinesTree.getChildren();
      return nodes.find((node) => node.kind === 'source' && node.source.file?.endsWith('/configuration.nix'));
    });
    const machines = (await machinesTree.getChildren(declared)).map((node) => machinesTree.getTreeItem(node));
    assert.deepEqual(
      machines.map((item) => (typeof item.label === 'string' ? item.label : item.label?.label)),
      ['nix@builder.example.org', 'mac-mini.local'],
    );

    await vscode.commands.executeCommand('workbench.view.extension.nixBuilders');
    await vscode.window.showTextDocument(uri, { preserveFocus: false });
    editor.selection = new vscode.Selection(system.range.start, system.range.start);
    await vscode.commands.executeCommand('editor.action.showHover');
    await screenshot('nix-modules');
  });
});
