// Workspace trust is what allows SSH, Nix evaluation and builds: an untrusted workspace gets
// diagnostics but no probe connects anywhere, no `.nix` file is evaluated, no build starts and
// no `ssh -G` runs, whatever the client sends; trusting it later (nixBuilders/setTrusted) lets
// them through. nix-instantiate and ssh are wrappers on the server's PATH that leave a mark.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from 'vscode-languageserver-protocol';
import {
  listBuildersRequest,
  planBuildRequest,
  probeRequest,
  setTrustedNotification,
  startBuildRequest,
  viewVisibleNotification,
} from '../../server/src/protocol';
import { LspClient } from './helpers/lspClient';
import { marked, markingWrapper } from './helpers/markingWrapper';

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

    // The view shown keeps connections warm, and opens none (ssh/pool.ts keepWarm).
    await client.connection.sendNotification(viewVisibleNotification, { visible: true });
    const untrusted = await client.connection.sendRequest(probeRequest, {});
    assert.deepEqual(
      untrusted.map((h) => h.status),
      ['untrusted'],
    );
    assert.equal(connections, 0, 'no TCP connection in an untrusted workspace');

    await client.connection.sendNotification(setTrustedNotification, { trusted: true });
    const trusted = await client.connection.sendRequest(probeRequest, {});
    assert.equal(trusted[0]!.status, 'down');
    assert.ok(connections > 0, 'trusted: the probe connected');
  } finally {
    await client.stop();
  }
});

test('untrusted: planBuild, startBuild, hover and "pin host key" run no Nix and no ssh; trusted later: planBuild evaluates', async () => {
  const work = mkdtempSync(join(dir, 'eval-'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const marks = join(work, 'marks');
  markingWrapper(bin, 'nix-instantiate', marks);
  markingWrapper(bin, 'ssh', marks);
  const ran = () => marked(marks);
  const file = join(work, 'default.nix');
  writeFileSync(
    file,
    'builtins.trace "evaluated" (derivation { name = "trust-check"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; })\n',
  );
  const sshConfig = join(work, 'ssh_config');
  writeFileSync(sshConfig, 'Host pinme\n  HostName 127.0.0.1\n  Port 1\n');
  writeFileSync(join(work, 'nix.conf'), 'builders =\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    NIX_CONF_DIR: work,
    NIX_USER_CONF_FILES: join(work, 'none'),
  };
  delete env.NIX_CONFIG;
  const client = await LspClient.start({ env, initializationOptions: { trusted: false } });
  try {
    client.settings = { nixVersion: '2.8', sshConfigFile: sshConfig };
    const plan = await client.connection.sendRequest(planBuildRequest, { file });
    assert.deepEqual(plan, {
      ok: false,
      error: 'This workspace is not trusted: Nix evaluation, SSH connections and builds are off until you trust it.',
    });
    const build = await client.connection.sendRequest(startBuildRequest, { file, buildId: 'b1', on: 'best' });
    assert.equal(build.ok, false);
    assert.equal(build.cause, 'untrusted-workspace');
    assert.match(build.message ?? '', /not trusted/);

    const uri = await client.open(join(work, 'machines'), 'nix-machines', 'ssh://pinme x86_64-linux\n');
    await client.diagnostics(uri);
    const hover = await client.hover(uri, { line: 0, character: 8 });
    assert.match(JSON.stringify(hover), /only in a trusted workspace/);
    const pin = (await client.executeCommand({
      title: 'Pin host key',
      command: 'nixBuilders.pinHostKey',
      arguments: [{ uri, offset: 0, storeUri: 'ssh://pinme' }],
    } as Command)) as { pinned: boolean; reason: string };
    assert.equal(pin.pinned, false);
    assert.match(pin.reason, /not trusted/);
    assert.equal(ran(), '', 'an untrusted workspace ran Nix or ssh');

    await client.connection.sendNotification(setTrustedNotification, { trusted: true });
    const trustedPlan = await client.connection.sendRequest(planBuildRequest, { file });
    assert.equal(trustedPlan.ok, true, JSON.stringify(trustedPlan));
    assert.match(ran(), /^nix-instantiate /m, 'trusted: planBuild evaluated the file');
    await client.hover(uri, { line: 0, character: 8 });
    assert.match(ran(), /^ssh -G /m, 'trusted: the hover asked ssh -G');
  } finally {
    await client.stop();
  }
});
