// The language server on its own, as any editor would start it: `node dist/server.js --stdio`,
// spoken to over a real LSP connection on its stdin and stdout.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  createProtocolConnection,
  InitializeRequest,
  ShutdownRequest,
  ExitNotification,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { serverInfoRequest } from '../../server/src/protocol';
import manifest from '../../package.json';

const serverPath = join(__dirname, '../../dist/server.js');
let server: ChildProcessWithoutNullStreams;
let connection: ProtocolConnection;
let stderr = '';

before(() => {
  server = spawn(process.execPath, [serverPath, '--stdio']);
  server.stderr.on('data', (chunk) => (stderr += chunk));
  connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.listen();
});

after(() => {
  connection.dispose();
  server.kill();
});

test('node dist/server.js --stdio answers initialize with its name and version', async () => {
  const result = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    workspaceFolders: null,
  });
  assert.deepEqual(result.serverInfo, { name: 'nix-remote-builders', version: manifest.version });
  assert.ok(result.capabilities.textDocumentSync, 'it syncs documents');
});

test('it answers the nixBuilders/serverInfo request from its own process', async () => {
  const info = await connection.sendRequest(serverInfoRequest);
  assert.equal(info.version, manifest.version);
  assert.equal(info.pid, server.pid);
});

test('it shuts down and exits cleanly when asked', async () => {
  await connection.sendRequest(ShutdownRequest.type);
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  await connection.sendNotification(ExitNotification.type);
  assert.equal(await exited, 0, `exit code 0 (stderr: ${stderr})`);
});
