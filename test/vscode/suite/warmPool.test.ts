// The client tells the server when the Remote Builders view shows and hides (extension.ts), so
// the server keeps the builders' connections warm only while it is visible: Server Info says
// what the server was told. (The connections themselves: test/system/warm-pool.test.ts.)
import * as vscode from 'vscode';
import type { ServerInfo } from '../../../server/src/protocol';
import { extensionId, waitFor } from './helpers';

suite('The pool kept warm while the view is visible', () => {
  test('shown: the server keeps connections warm; hidden: it no longer does', async () => {
    await vscode.extensions.getExtension(extensionId)!.activate();
    const warm = async () =>
      (await vscode.commands.executeCommand<ServerInfo>('nixBuilders.serverInfo')).keepsConnectionsWarm;
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
    await waitFor('the server to be told the view is visible', async () => (await warm()) === true);
    await vscode.commands.executeCommand('workbench.view.explorer');
    await waitFor('the server to be told the view is hidden', async () => (await warm()) === false);
    await vscode.commands.executeCommand('notifications.clearAll');
  });
});
