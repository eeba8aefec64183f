// The language server: wires LSP capabilities to the modules that do the work and nothing
// else. `createConnection` picks the transport from the command line, so the same file runs
// over IPC from the VS Code client and as `node dist/server.js --stdio` for any other editor.
import { setLogSink } from './context/log';
import {
  CodeActionKind,
  createConnection,
  DidChangeConfigurationNotification,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { BuilderList } from './builders/builderList';
import { DocumentChecker } from './language/checker';
import { HealthDiagnostics } from './language/healthDiagnostics';
import { EditingFeatures, pinHostKeyCommand } from './language/editing';
import { lspContext } from './context/serverContext';
import { HealthService } from './health/healthService';
import { BuildOnRemote } from './dispatch/buildOnRemote';
import { ConnectionPool, testIdleMs } from './ssh/pool';
import { documentSymbols } from './language/symbols';
import { NixModuleDocuments } from './nixModules/nixModuleDocuments';
import { pinDeclaredHostKeyCommand } from './nixModules/pinDeclaredHostKey';
import { NixEvaluator } from './nixModules/evaluation';
import {
  listBuildersRequest,
  localMachineRequest,
  planBuildRequest,
  probeRequest,
  serverInfoRequest,
  setTrustedNotification,
  startBuildRequest,
  viewVisibleNotification,
  type ServerInfo,
} from './protocol';
import { untrustedBuild, untrustedPlan } from './untrustedWorkspace';
import { localMachine } from './localMachine/localMachine';
import { extensionVersion } from './version';

const connection = createConnection(ProposedFeatures.all);
// The troubleshooting log reaches the client's output channel at each line's level.
setLogSink((level, text) => connection.console[level](text));
const documents = new TextDocuments(TextDocument);
const startedAt = Date.now();
let clientPullsConfiguration = false;
/** Trust, settings and the Nix followed here: one of each, shared by every service. */
const context = lspContext(connection, () => clientPullsConfiguration);
/** Builders whose last check failed, as problems on their lines: the checker publishes them with each file's own. */
const healthProblems = new HealthDiagnostics((uri) => void checker.healthChanged(uri));
const checker = new DocumentChecker(connection, documents, context, (uri) => healthProblems.forFile(uri));
/** Real Nix evaluating what .nix files do not write out (trusted only): one cache for the editor and the view. */
const evaluator = new NixEvaluator();
const builders = new BuilderList(connection, context, evaluator, () => void nixModules.recheckAll());
const editing = new EditingFeatures(connection, documents, checker, context);
const nixModules = new NixModuleDocuments(connection, documents, context, evaluator, (file) =>
  builders.declaredLinesExcept(file),
);
/**
 * One pool of SSH connections: a probe's connection is reused by the build that follows.
 * NIX_BUILDERS_TEST_IDLE_MS is for tests only: a short idle time, so a test sees it pass.
 */
const pool = new ConnectionPool({ idleMs: testIdleMs() ?? 60_000 });
/** The Remote Builders view is visible: idle connections stay warm (pool.ts), trusted only. */
let viewVisible = false;
const keepsWarm = () => viewVisible && context.trusted;
const keepPoolWarm = () => pool.keepWarm(keepsWarm());
const health = new HealthService(connection, builders, context, pool);
health.onResult(
  (result) => void builders.builders().then((all) => healthProblems.record(result, all.builders.get(result.id)?.info)),
);
const buildOnRemote = new BuildOnRemote(connection, builders, health, context, pool);

connection.onInitialize((params): InitializeResult => {
  clientPullsConfiguration = params.capabilities.workspace?.configuration === true;
  builders.setWorkspaceFolders(params.workspaceFolders);
  editing.initialize(params.capabilities);
  nixModules.initialize(params.capabilities, params.workspaceFolders);
  // Workspace trust, from the client: no SSH connection and no `ssh -G` until it is true.
  context.trust.setFromInitializationOptions(params.initializationOptions);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      documentSymbolProvider: true,
      completionProvider: { triggerCharacters: [' ', ',', '/', '@'] },
      hoverProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
      documentFormattingProvider: true,
      documentRangeFormattingProvider: true,
      documentLinkProvider: { resolveProvider: false },
      inlayHintProvider: true,
      executeCommandProvider: { commands: [pinHostKeyCommand, pinDeclaredHostKeyCommand] },
    },
    serverInfo: { name: 'nix-remote-builders', version: extensionVersion },
  };
});

connection.onInitialized(() => {
  nixModules.register();
  if (clientPullsConfiguration) {
    void connection.client.register(DidChangeConfigurationNotification.type, { section: 'nixBuilders' });
  }
});

connection.onDidChangeConfiguration(() => {
  context.settings.clear();
  void checker.recheckAll();
  void nixModules.recheckAll();
  builders.changed();
  editing.configurationChanged();
});

// Included machines files, key files and nix.conf includes change on disk: check again. A .nix
// file changes only the declared builders (BuilderList reads again just the files that changed)
// and the open .nix documents; the machines files need no second look.
connection.onDidChangeWatchedFiles(({ changes }) => {
  if (!changes.every((change) => change.uri.endsWith('.nix'))) void checker.recheckAll();
  void nixModules.recheckAll();
  builders.changed();
});

// Every request that runs Nix, ssh or a build refuses in an untrusted workspace here, whatever
// the client checked: listBuilders reads files only (its one process is `nix --version` of the
// installed Nix, from the server's own PATH: not the workspace's code); probes answer
// `untrusted` per machine (HealthService), "pin host key" refuses in pinHostKey.ts, hovers and
// code actions resolve ssh settings without `ssh -G`, and the file watchers only re-read files.
connection.onRequest(listBuildersRequest, async () => {
  const list = await builders.list();
  // Lines moved or went away: their health problems follow them.
  healthProblems.follow(new Map([...(await builders.builders()).builders].map(([id, b]) => [id, b.info])));
  return list;
});
// "This machine": the installed Nix's own answers (nix store ping, nix show-config), no SSH, no
// evaluation, nothing from the workspace; asked afresh on each refresh of the view.
connection.onRequest(localMachineRequest, () => localMachine(true));
connection.onRequest(probeRequest, ({ ids }, token) => health.probe(ids, token));
connection.onRequest(planBuildRequest, (target) => (context.trusted ? buildOnRemote.plan(target) : untrustedPlan()));
connection.onRequest(startBuildRequest, (params, token) =>
  context.trusted ? buildOnRemote.build(params, token) : untrustedBuild(params),
);
connection.onShutdown(() => {
  builders.dispose();
  pool.close();
});

documents.onDidChangeContent(({ document }) => void Promise.all([checker.check(document), nixModules.check(document)]));
documents.onDidClose(({ document }) => void Promise.all([checker.close(document.uri), nixModules.close(document.uri)]));

// Editing: completion, hover, quick fixes, formatting, links, inlay hints, "pin host key".
connection.onCompletion((params) =>
  nixModules.handles(params.textDocument.uri) ? nixModules.completion(params) : editing.completion(params),
);
connection.onHover((params) =>
  nixModules.handles(params.textDocument.uri) ? nixModules.hover(params) : editing.hover(params),
);
connection.onCodeAction((params) =>
  nixModules.handles(params.textDocument.uri) ? nixModules.codeActions(params) : editing.codeActions(params),
);
connection.onDocumentFormatting((params) => editing.formatDocument(params));
connection.onDocumentRangeFormatting((params) => editing.formatRange(params));
connection.onDocumentLinks((params) => editing.documentLinks(params));
connection.languages.inlayHint.on((params) =>
  nixModules.handles(params.textDocument.uri) ? nixModules.inlayHints(params) : editing.inlayHints(params),
);
connection.onExecuteCommand((params) =>
  params.command === pinDeclaredHostKeyCommand ? nixModules.executeCommand(params) : editing.executeCommand(params),
);
// The client says whether the workspace is trusted: no SSH connection and no `ssh -G` until it is.
connection.onNotification(setTrustedNotification, (params) => {
  context.trust.set(params.trusted);
  keepPoolWarm();
  nixModules.trustChanged();
  builders.changed(); // declared builders are evaluated from now on (or no longer)
});
// The client says whether the Remote Builders view is visible.
connection.onNotification(viewVisibleNotification, (params) => {
  viewVisible = params?.visible === true;
  keepPoolWarm();
});

connection.onDocumentSymbol(async ({ textDocument }) => {
  const document = documents.get(textDocument.uri);
  const analysis = document && checker.analysis(document);
  return analysis ? documentSymbols(await analysis, document) : [];
});

connection.onRequest(serverInfoRequest, (): ServerInfo => ({
  version: extensionVersion,
  pid: process.pid,
  node: process.version,
  uptimeMs: Date.now() - startedAt,
  keepsConnectionsWarm: keepsWarm(),
}));

documents.listen(connection);
connection.listen();
