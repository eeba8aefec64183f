// Workspace trust is what allows SSH: an untrusted workspace gets diagnostics but no probe
// connects anywhere, and trusting it later (nixBuilders/setTrusted) lets probes through.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listBuildersRequest, probeRequest, setTrustedNotification } from '../../server/src/protocol';
import { LspClient } from './helpers/lspClient';

let dir: string;
let listener: Server;
let connections = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-trust-'));
  // Counts TCP connections: it accepts and closes, like a host that is not an SSH server.
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('untrusted: probes report "untrusted" and open no connection; trusted later: they connect', async () => {
  const port = (listener.address() as AddressInfo).port;
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, `Host counted\n  HostName 127.0.0.1\n  Port ${port}\n  StrictHostKeyChecking yes\n`);
  writeFileSync(join(dir, 'nix.conf'), 'builders = ssh://counted x86_64-linux\n');
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: dir, NIX_USER_CONF_FILES: join(dir, 'none') };
  delete env.NIX_CONFIG;
  const client = await LspClient.start({ env, initializationOptions: { trusted: false } });
  try {
    client.settings = { nixVersion: '2.8', sshConfigFile: sshConfig, probeTimeout: 2 };
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.equal(list.sources[0]!.machines.length, 1);

    const untrusted = await client.connection.sendRequest(probeRequest, {});
    assert.deepEqual(untrusted.map((h) => h.status), ['untrusted']);
    assert.equal(connections, 0, 'no TCP connection in an untrusted workspace');

    await client.connection.sendNotification(setTrustedNotification, { trusted: true });
    const trusted = await client.connection.sendRequest(probeRequest, {});
    assert.equal(trusted[0]!.status, 'down');
    assert.ok(connections > 0, 'trusted: the probe connected');
  } finally {
    await client.stop();
  }
});
