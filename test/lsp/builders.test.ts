// The builders the server lists for the Remote Builders view: what Nix reads from the nix.conf
// chain (NIX_CONF_DIR, user files, NIX_CONFIG), each machine with its file and line, plus the
// workspace's machines files; and a notification when one of those files changes on disk.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildersChangedNotification, listBuildersRequest } from '../../server/src/protocol';
import { LspClient } from './helpers/lspClient';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-list-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function environment(confDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NIX_CONF_DIR: confDir,
    NIX_USER_CONF_FILES: join(confDir, 'none'),
    ...extra,
  };
  if (!('NIX_CONFIG' in extra)) delete env.NIX_CONFIG;
  return env;
}

test('builders of nix.conf come with their file and line, @file machines with theirs', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  const machines = join(confDir, 'machines');
  writeFileSync(machines, '# mine\nssh://nix@from-file aarch64-linux - 3\n');
  writeFileSync(join(confDir, 'nix.conf'), `sandbox = false\nbuilders = ssh://inline x86_64-linux - 2 ;@${machines}\n`);
  const client = await LspClient.start({ env: environment(confDir) });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.equal(list.sources.length, 1);
    const [source] = list.sources;
    assert.equal(source!.kind, 'nix-conf');
    assert.equal(source!.usedByNix, true);
    assert.deepEqual(
      source!.machines.map((m) => [m.uri, m.maxJobs, m.location]),
      [
        ['ssh://inline', 2, { file: join(confDir, 'nix.conf'), line: 1, character: 11 }],
        ['ssh://nix@from-file', 3, { file: machines, line: 1, character: 0 }],
      ],
    );
  } finally {
    await client.stop();
  }
});

test('NIX_CONFIG wins over nix.conf, as in Nix', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(confDir, 'nix.conf'), 'builders = ssh://from-conf\n');
  const client = await LspClient.start({
    env: environment(confDir, { NIX_CONFIG: 'builders = ssh://from-env x86_64-linux' }),
  });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.deepEqual(
      list.sources.map((s) => [s.kind, s.machines.map((m) => m.uri)]),
      [['nix-config-env', ['ssh://from-env']]],
    );
  } finally {
    await client.stop();
  }
});

test('workspace machines files are listed after, marked as not used by Nix', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(confDir, 'nix.conf'), 'builders = ssh://a\n');
  const workspace = mkdtempSync(join(dir, 'ws-'));
  mkdirSync(join(workspace, 'hosts'));
  writeFileSync(join(workspace, 'hosts', 'office.machines'), 'ssh://b x86_64-linux\nssh://c aarch64-linux\n');
  mkdirSync(join(workspace, 'node_modules'));
  writeFileSync(join(workspace, 'node_modules', 'machines'), 'ssh://ignored\n');
  const client = await LspClient.start({ env: environment(confDir), folders: [workspace] });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.deepEqual(
      list.sources.map((s) => [s.kind, s.usedByNix, s.machines.length]),
      [
        ['nix-conf', true, 1],
        ['workspace', false, 2],
      ],
    );
  } finally {
    await client.stop();
  }
});

test('editing a machines file on disk makes the server say the builders changed', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  const machines = join(confDir, 'machines');
  writeFileSync(machines, 'ssh://one\n');
  writeFileSync(join(confDir, 'nix.conf'), `builders = @${machines}\n`);
  const client = await LspClient.start({ env: environment(confDir) });
  try {
    await client.connection.sendRequest(listBuildersRequest);
    const changed = new Promise<void>((resolve) =>
      client.connection.onNotification(buildersChangedNotification, () => resolve()),
    );
    writeFileSync(machines, 'ssh://one\nssh://two\n');
    await changed;
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.deepEqual(
      list.sources[0]!.machines.map((m) => m.uri),
      ['ssh://one', 'ssh://two'],
    );
  } finally {
    await client.stop();
  }
});

test('with no builders setting, Nix reads the default /etc/nix/machines', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(confDir, 'nix.conf'), 'sandbox = false\n');
  const client = await LspClient.start({ env: environment(confDir) });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.equal(list.sources[0]!.kind, 'default-machines');
    assert.equal(list.sources[0]!.file, '/etc/nix/machines');
    assert.equal(list.machinesFile.path, '/etc/nix/machines', 'Open Machines File opens the default');
    assert.equal(list.machinesFile.readByNix, true);
  } finally {
    await client.stop();
  }
});

test('builders = @<file> in nix.conf makes that file the machines file Open Machines File and Add Builder open', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  const other = join(mkdtempSync(join(dir, 'elsewhere-')), 'other');
  writeFileSync(other, 'ssh://nix@from-other x86_64-linux\n');
  writeFileSync(join(confDir, 'nix.conf'), `builders = ssh://inline x86_64-linux;@${other}\n`);
  const client = await LspClient.start({ env: environment(confDir) });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.deepEqual(list.machinesFile, { path: other, readByNix: true, exists: true, writable: true });
  } finally {
    await client.stop();
  }
});

test('a user nix.conf (NIX_USER_CONF_FILES) naming a missing @file: that file, to be created, in a writable folder', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(confDir, 'nix.conf'), 'builders = @/etc/nix/machines\n');
  const userConf = join(confDir, 'user.conf');
  const missing = join(confDir, 'not-yet');
  writeFileSync(userConf, `builders = @${missing}\n`);
  const client = await LspClient.start({ env: environment(confDir, { NIX_USER_CONF_FILES: userConf }) });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.deepEqual(list.machinesFile, { path: missing, readByNix: true, exists: false, writable: true });
  } finally {
    await client.stop();
  }
});

test('builders listing machines but no @file: the default machines file, which Nix does not read', async () => {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(confDir, 'nix.conf'), 'builders = ssh://only-inline x86_64-linux\n');
  const client = await LspClient.start({ env: environment(confDir) });
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    assert.equal(list.machinesFile.path, '/etc/nix/machines');
    assert.equal(list.machinesFile.readByNix, false);
  } finally {
    await client.stop();
  }
});
