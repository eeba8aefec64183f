// Entry point of the extension: wires the output channel, the language client, the view and
// the commands together, and does nothing else. The work lives in the language server.
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import {
  askPassphraseRequest,
  chooseKeyFileCommand,
  productName,
  setTrustedNotification,
  viewVisibleNotification,
  type BuilderMachine,
  type HealthFinding,
} from '../../server/src/protocol';
import { addBuilder, openMachinesFile, revealMachine, showServerInfo } from './commands';
import { chooseKeyFile } from './chooseKeyFile';
import { RemoteBuilds, type BuildOptions } from './build/buildOnRemote';
import { runFindingAction } from './findingActions';
import { askPassphrase, pingBuilders } from './health';
import { BuildersStatusBar } from './statusBar';
import { AutoPing } from './tree/autoPing';
import { createLanguageClient } from './languageClient';
import type { Node } from './tree/items';
import { showFinding } from './tree/findingDetails';
import { LastResults } from './tree/lastResults';
import { MachinesTree } from './tree/machinesTree';
import { explainUntrustedInView } from './untrustedWorkspace';

let client: LanguageClient | undefined;

/** What `activate` returns: other extensions and our VS Code tests read the view's content. */
export interface NixBuildersApi {
  machinesTree: MachinesTree;
  machinesView: vscode.TreeView<Node>;
  /** What the next window restores (undefined in an untrusted workspace, which keeps none). */
  lastResults: LastResults | undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<NixBuildersApi> {
  const log = vscode.window.createOutputChannel(productName, { log: true });
  context.subscriptions.push(log);
  log.info(`${productName} ${context.extension.packageJSON.version} activating`);

  client = createLanguageClient(context, log);
  const languageClient = client;
  const started = languageClient.start().catch((error: unknown) => {
    // The editor keeps working without the server; say why and where to look.
    log.error(`The language server did not start: ${error instanceof Error ? error.message : String(error)}`);
    void vscode.window
      .showErrorMessage(`${productName}: the language server did not start. See the log for the cause.`, 'Show Log')
      .then((choice) => choice && log.show());
  });

  // Trust granted later (the banner's "Trust"): the server may now use SSH.
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void started.then(() => languageClient.sendNotification(setTrustedNotification, { trusted: true }));
    }),
  );

  context.subscriptions.push(languageClient.onRequest(askPassphraseRequest, askPassphrase));

  // The last checks outlive a reload; an untrusted workspace checks nothing, so shows none.
  const lastResults = vscode.workspace.isTrusted ? new LastResults(context.workspaceState) : undefined;
  const tree = new MachinesTree(languageClient, started, log, lastResults);
  const view = vscode.window.createTreeView('nixBuilders.machines', { treeDataProvider: tree, showCollapseAll: true });
  // While the view is visible the server keeps builder connections warm (ssh/pool.ts): told at
  // each change, and each time the server (re)starts, since a new server starts out hidden.
  const tellVisible = () =>
    void languageClient.sendNotification(viewVisibleNotification, { visible: view.visible }).catch(() => undefined);
  const pingAll = () => pingBuilders(languageClient);
  const builds = new RemoteBuilds(languageClient);
  context.subscriptions.push(
    tree,
    view,
    new BuildersStatusBar(tree),
    new AutoPing(view, pingAll),
    view.onDidChangeVisibility(() => languageClient.isRunning() && tellVisible()),
    languageClient.onDidChangeState(({ newState }) => newState === State.Running && tellVisible()),
    explainUntrustedInView(view),
    vscode.commands.registerCommand('nixBuilders.openMachinesFile', () => openMachinesFile(tree)),
    vscode.commands.registerCommand('nixBuilders.addBuilder', () => addBuilder(tree)),
    vscode.commands.registerCommand('nixBuilders.refresh', () => tree.refresh()),
    vscode.commands.registerCommand('nixBuilders.pingAll', pingAll),
    vscode.commands.registerCommand('nixBuilders.ping', (target: Node | string) => {
      const id = typeof target === 'string' ? target : target.kind === 'machine' ? target.machine.id : undefined;
      return id ? pingBuilders(languageClient, [id]) : pingAll();
    }),
    builds,
    // From the editor title or the explorer (a Uri), the palette (nothing), or a script (options).
    vscode.commands.registerCommand('nixBuilders.buildOnRemote', (arg?: vscode.Uri | BuildOptions) =>
      builds.run(arg instanceof vscode.Uri ? { uri: arg } : (arg ?? {})),
    ),
    // "Build Current File Here" on a builder in the view.
    vscode.commands.registerCommand('nixBuilders.buildHere', (node: Node) =>
      builds.run(node.kind === 'machine' ? { on: node.machine.id } : {}),
    ),
    vscode.commands.registerCommand(chooseKeyFileCommand, chooseKeyFile),
    vscode.commands.registerCommand(
      'nixBuilders.runFindingAction',
      (finding: HealthFinding, machine?: BuilderMachine) => runFindingAction(finding, machine),
    ),
    vscode.commands.registerCommand('nixBuilders.showFinding', (finding: HealthFinding, machine?: BuilderMachine) =>
      showFinding(finding, machine),
    ),
    vscode.commands.registerCommand('nixBuilders.revealMachine', async (target: Node | string) => {
      const machine =
        typeof target === 'string'
          ? await tree.machine(target)
          : target.kind === 'machine'
            ? target.machine
            : undefined;
      if (machine) await revealMachine(machine);
    }),
    vscode.commands.registerCommand('nixBuilders.showLog', () => log.show()),
    vscode.commands.registerCommand('nixBuilders.restartServer', () => languageClient.restart()),
    vscode.commands.registerCommand('nixBuilders.serverInfo', () => showServerInfo(languageClient, log)),
  );
  await started;
  return { machinesTree: tree, machinesView: view, lastResults };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
