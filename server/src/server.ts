// The language server: wires LSP capabilities to the modules that do the work and nothing
// else. `createConnection` picks the transport from the command line, so the same file runs
// over IPC from the VS Code client and as `node dist/server.js --stdio` for any other editor.
import {
  createConnection,
  DidChangeConfigurationNotification,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { BuildersService } from './builders/buildersService';
import { DocumentChecker } from './language/checker';
import { SettingsCache } from './language/settings';
import { documentSymbols } from './language/symbols';
import { listBuildersRequest, serverInfoRequest, type ServerInfo } from './protocol';
import { extensionVersion } from './version';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const startedAt = Date.now();
let clientPullsConfiguration = false;
const settings = new SettingsCache(connection, () => clientPullsConfiguration);
const checker = new DocumentChecker(connection, documents, settings);
const builders = new BuildersService(connection, settings);

connection.onInitialize((params): InitializeResult => {
  clientPullsConfiguration = params.capabilities.workspace?.configuration === true;
  builders.setWorkspaceFolders(params.workspaceFolders);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      documentSymbolProvider: true,
    },
    serverInfo: { name: 'nix-remote-builders', version: extensionVersion },
  };
});

connection.onInitialized(() => {
  if (clientPullsConfiguration) {
    void connection.client.register(DidChangeConfigurationNotification.type, { section: 'nixBuilders' });
  }
});

connection.onDidChangeConfiguration(() => {
  settings.clear();
  void checker.recheckAll();
  builders.changed();
});

// Included machines files, key files and nix.conf includes change on disk: check again.
connection.onDidChangeWatchedFiles(() => {
  void checker.recheckAll();
  builders.changed();
});

connection.onRequest(listBuildersRequest, () => builders.list());
connection.onShutdown(() => builders.dispose());

documents.onDidChangeContent(({ document }) => void checker.check(document));
documents.onDidClose(({ document }) => void checker.close(document.uri));

connection.onDocumentSymbol(async ({ textDocument }) => {
  const document = documents.get(textDocument.uri);
  const analysis = document && checker.analysis(document);
  return analysis ? documentSymbols(await analysis, document) : [];
});

connection.onRequest(
  serverInfoRequest,
  (): ServerInfo => ({
    version: extensionVersion,
    pid: process.pid,
    node: process.version,
    uptimeMs: Date.now() - startedAt,
  }),
);

documents.listen(connection);
connection.listen();
