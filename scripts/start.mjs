// `npm start`: serves VS Code (code-server, on 127.0.0.1 only) with this extension loaded from
// the working tree, on an example workspace holding a machines file and a nix.conf. Prints the
// URL to open; Ctrl+C stops it. Rebuild with `npm run watch` and reload the window to see edits.
// The extension, ssh and Nix see your own HOME (your ~/.ssh config, keys and known_hosts, so your
// real builders answer); only VS Code's profile is kept apart, under .vscode-test/start.
// `npm start -- --isolated-home` gives them an empty home there instead, as the tests do.
import { homedir } from 'node:os';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  codeServerVersion,
  installCodeServer,
  startCodeServer,
  workbenchUrl,
} from '../test/vscode/codeServer/codeServer.mjs';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const runDir = join(root, '.vscode-test/start');
const workspace = join(runDir, 'example-workspace');
if (!existsSync(workspace)) {
  // A copy, so trying things out never edits the test fixture.
  mkdirSync(runDir, { recursive: true });
  cpSync(join(root, 'test/fixtures/example-workspace'), workspace, { recursive: true });
}

console.log(`Preparing VS Code (code-server ${codeServerVersion}) ...`);
const codeServerRoot = installCodeServer();
const port = process.env.PORT ? Number(process.env.PORT) : undefined;
const isolatedHome = process.argv.includes('--isolated-home');
const server = await startCodeServer({ root: codeServerRoot, runDir, port, userHome: !isolatedHome });
const home = isolatedHome ? join(runDir, 'home') : homedir();
const url = workbenchUrl(server.url, { folder: workspace, extensionDevelopmentPath: root });

console.log(`
Nix Remote Builders is running in VS Code at:

  ${url}

Open that address in a browser on this machine (VS Code listens on 127.0.0.1 only;
from elsewhere, forward the port: ssh -L ${server.port}:127.0.0.1:${server.port} THIS_HOST).
The example workspace is ${workspace}.
SSH and Nix use the home ${home}${isolatedHome ? ' (empty: --isolated-home)' : ' (yours: its ~/.ssh config, keys and known_hosts)'};
VS Code's own profile (settings, extensions) is kept in ${runDir}.
Press Ctrl+C to stop.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.process.once('exit', (code) => {
  if (!stopping) {
    console.error(`code-server stopped (${code}).`);
    process.exit(1);
  }
});
