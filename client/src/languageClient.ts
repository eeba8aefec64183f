// Starts the language server in its own Node process over IPC. The server owns all the work
// (parsing, SSH, builds); this file only says how to launch it and which documents it serves.
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { productName, type InitializationOptions } from '../../server/src/protocol';

/** The languages the server handles: machines files and nix.conf (for its `builders` line). */
const serverLanguages = ['nix-machines', 'nix-conf'] as const;

export function createLanguageClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    // `F5` from .vscode/launch.json starts the server this way; "Attach to Server" attaches.
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: serverLanguages.flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
    // Included machines files, key files and nix.conf includes change on disk: the server
    // checks the open documents again. A .nix file (a configuration.nix written by another
    // editor, a git checkout): the declared builders in the view follow it.
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{machines,*.machines,nix.conf,*.conf,*.nix}'),
    },
    // In an untrusted workspace the server checks files but connects nowhere (no ssh -G, no SSH).
    // A function: read again when the server restarts, after trust may have been granted.
    initializationOptions: (): InitializationOptions => ({ trusted: vscode.workspace.isTrusted }),
    outputChannel: log,
    // The `nixBuilders.trace.server` setting turns on message tracing in the same channel.
    traceOutputChannel: log,
  };
  return new LanguageClient('nixBuilders', productName, serverOptions, clientOptions);
}
