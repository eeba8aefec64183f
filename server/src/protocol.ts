// The custom requests between the client and the language server. This is the one server
// file the client imports (as vscode-eslint keeps its customMessages.ts): every request is
// declared here once, with its parameter and result types, so both sides agree by type.
import { RequestType0 } from 'vscode-languageserver-protocol';

/** The extension's name for its own output channel, log lines and messages. */
export const productName = 'Nix Remote Builders';

/** What the server says about itself: the client shows it and the tests ask for it. */
export interface ServerInfo {
  /** The extension's version, as package.json says. */
  version: string;
  /** The server's process id: tells the user (and the tests) it runs in its own process. */
  pid: number;
  /** Node.js version running the server. */
  node: string;
  /** How long the server has been up, in milliseconds. */
  uptimeMs: number;
}

export const serverInfoRequest = new RequestType0<ServerInfo, void>('nixBuilders/serverInfo');
