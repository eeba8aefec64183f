// Entry point of the extension: wires the output channel, the language client, the view and
// the commands together, and does nothing else. The work lives in the language server.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { productName } from '../../server/src/protocol';
import { openMachinesFile, showServerInfo } from './commands';
import { createLanguageClient } from './languageClient';
import { MachinesTree } from './tree/machinesTree';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel(productName, { log: true });
  context.subscriptions.push(log);

  const tree = new MachinesTree();
  context.subscriptions.push(tree, vscode.window.createTreeView('nixBuilders.machines', { treeDataProvider: tree }));

  client = createLanguageClient(context, log);
  const languageClient = client;
  context.subscriptions.push(
    vscode.commands.registerCommand('nixBuilders.openMachinesFile', openMachinesFile),
    vscode.commands.registerCommand('nixBuilders.showLog', () => log.show()),
    vscode.commands.registerCommand('nixBuilders.restartServer', () => languageClient.restart()),
    vscode.commands.registerCommand('nixBuilders.serverInfo', () => showServerInfo(languageClient, log)),
  );

  log.info(`${productName} ${context.extension.packageJSON.version} activating`);
  try {
    await client.start();
  } catch (error) {
    // The editor keeps working without the server; say why and where to look.
    log.error(`The language server did not start: ${error instanceof Error ? error.message : String(error)}`);
    void vscode.window.showErrorMessage(`${productName}: the language server did not start. See the log for the cause.`, 'Show Log')
      .then((choice) => choice && log.show());
  }
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
