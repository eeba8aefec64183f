// What a user sees when the extension starts in VS Code: it activates, its languages claim
// the right files, its view is there, and its language server answers.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ServerInfo } from '../../../server/src/protocol';
import {
  assertShowsRows,
  assertShowsText,
  canScreenshot,
  extensionId,
  openWorkspaceFile,
  screenshotShowing,
  waitFor,
} from './helpers';

suite('The extension in VS Code', () => {
  suiteSetup(async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `${extensionId} is installed in the test instance`);
    await extension.activate();
  });

  test('activates', () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.equal(extension?.isActive, true);
  });

  test('a file named machines is a nix-machines document', async () => {
    const editor = await openWorkspaceFile('machines');
    assert.equal(editor.document.languageId, 'nix-machines');
  });

  test('a file named *.machines is a nix-machines document', async () => {
    const document = await vscode.workspace.openTextDocument({ content: 'ssh://a x86_64-linux\n' });
    // An untitled document has no name to match on: check the mapping VS Code uses for names.
    const named = await vscode.workspace.openTextDocument(vscode.Uri.parse('untitled:/tmp/office.machines'));
    assert.equal(document.languageId, 'plaintext');
    assert.equal(named.languageId, 'nix-machines');
  });

  test('a file named nix.conf is a nix-conf document', async () => {
    const editor = await openWorkspaceFile('nix.conf');
    assert.equal(editor.document.languageId, 'nix-conf');
  });

  test('the settings are registered with their defaults', () => {
    const settings = vscode.workspace.getConfiguration('nixBuilders');
    assert.equal(settings.get('trace.server'), 'off');
    assert.equal(settings.get('nixVersion'), 'auto');
    assert.equal(settings.get('machinesFile'), '/etc/nix/machines');
  });

  test('the Remote Builders view can be focused', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('workbench.view.extension.nixBuilders'), 'the activity-bar container exists');
    assert.ok(commands.includes('nixBuilders.machines.focus'), 'the view exists');
    await vscode.commands.executeCommand('workbench.view.extension.nixBuilders');
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
  });

  test('the language server answers a request from its own process', async () => {
    const info = await waitFor('the language server', () =>
      vscode.commands.executeCommand<ServerInfo>('nixBuilders.serverInfo'),
    );
    const manifest = vscode.extensions.getExtension(extensionId)?.packageJSON as { version: string };
    assert.equal(info.version, manifest.version);
    assert.notEqual(info.pid, process.pid, 'the server runs outside the extension host');
    assert.match(info.node, /^v\d+\./);
  });

  test('the workbench shows the Remote Builders view (screenshot)', async function () {
    if (!canScreenshot()) this.skip(); // desktop VS Code: no picture to look at
    await openWorkspaceFile('machines');
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
    await vscode.commands.executeCommand('notifications.clearAll');
    await screenshotShowing('workbench', (shot) => {
      assertShowsRows(shot, 'sidebar', [
        /^nix\.conf 2 machines · .*\/test\/fixtures\/etc-nix$/,
        /^nix@conf-builder\.example\.org x86_64-linux · 2 jobs · speed 1$/,
      ]);
      assertShowsText(shot, 'editor', [/ssh:\/\/nix@builder\.example\.org x86_64-linux,i686-linux/]);
    });
  });
});
