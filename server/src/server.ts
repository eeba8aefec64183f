// The language server: wires LSP capabilities to the modules that do the work and nothing
// else. `createConnection` picks the transport from the command line, so the same file runs
// over IPC from the VS Code client and as `node dist/server.js --stdio` for any other editor.
import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { serverInfoRequest, type ServerInfo } from './protocol';
import { extensionVersion } from './version';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const startedAt = Date.now();

connection.onInitialize(
  (): InitializeResult => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
    },
    serverInfo: { name: 'nix-remote-builders', version: extensionVersion },
  }),
);

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
