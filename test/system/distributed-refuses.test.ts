// `nix-builders build --distributed` never hands Nix a machine whose line would run code: a
// remote-program holding shell code (Nix 2.8 sends it to the builder's shell as it is) and a
// `-oProxyCommand=…` line (Nix reads it as a local store and creates it, as root). Real Nix,
// real builders: the markers those lines would create never appear, the build runs on the
// healthy builder, and the output names the lines left out and why.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildLogNotification, startBuildRequest, type BuildOutcome } from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';
import { provisionBuilders, readWhereBuilt, whereBuiltExpression, type BuilderLab } from './fixture';
import { CLI, runCli } from './fixture/cli';
import { labCanRun } from './fixture/gate';

const cli = CLI;
const build = (args: string[], env: NodeJS.ProcessEnv, cwd: string) => runCli(['build', ...args], env, cwd);

const proxyDirs = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('-oProxyCommand'));

let lab: BuilderLab<'healthy'>;
let dir: string;
if (labCanRun()) {
  before(async () => {
    assert.ok(existsSync(cli), `${cli} is missing: run npm run build first`);
    lab = await provisionBuilders({ builders: ['healthy'] });
    dir = mkdtempSync(join(lab.dir, 'distributed-refuses-'));
  });
  after(async () => lab?.stop());

  test('shell code in remote-program and a -oProxyCommand line are left out, named, and never run; the healthy builder builds', async () => {
    const nonce = randomBytes(6).toString('hex');
    const healthy = lab.builders.healthy;
    // What the bad lines would create: on the builder (its /nix is healthy.storeRoot; /tmp is
    // shared with this machine) and here.
    const remoteMarker = `/nix/var/nixrb-home/shell-marker-${nonce}`;
    const sharedMarker = `/tmp/nixrb-shell-marker-${nonce}`;
    const proxyMarker = `/tmp/nixrb-proxy-marker-${nonce}`;
    const rest = healthy.machinesLine.replace(/^\S+/, ''); // columns 2-8 of the healthy line
    // `%20` is a space once Nix decodes the value; Nix 2.8's URL parser refuses `{}` raw, so no ${IFS}.
    const shellLine = `${healthy.uri}?remote-program=$(touch%20${remoteMarker}%20${sharedMarker})nix-store${rest}`;
    const proxyLine = `-oProxyCommand=touch\${IFS}${proxyMarker}${rest}`;
    // The bad lines first: Nix would try them first (same speed, earlier line).
    const machines = join(dir, `machines-${nonce}`);
    writeFileSync(machines, `${shellLine}\n${proxyLine}\n${healthy.machinesLine}\n`);
    const file = join(dir, `where-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const rootBefore = proxyDirs('/');

    const result = await build(
      [file, '--distributed', '--machines', machines, '--ssh-config', lab.sshConfig],
      lab.env(),
      dir,
    );

    for (const marker of [
      sharedMarker,
      proxyMarker,
      join(healthy.storeRoot, remoteMarker.slice('/nix'.length)),
      remoteMarker,
    ]) {
      assert.equal(existsSync(marker), false, `${marker} exists: a refused line ran\n${result.stderr}`);
    }
    assert.deepEqual(proxyDirs('/'), rootBefore, 'a local store /-oProxyCommand… was created');
    assert.deepEqual(proxyDirs(dir), [], 'a local store -oProxyCommand… was created in the working directory');

    assert.equal(result.code, 0, result.stderr);
    const out = result.stdout.trim().split('\n').pop()!;
    assert.equal(readWhereBuilt(out).hostname, healthy.hostname);
    const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(
      result.stderr,
      new RegExp(
        `Left out ${escaped(`${healthy.uri}?remote-program=$(touch%20`)}.*\\(shell-in-store-setting\\): .*shell code`,
      ),
    );
    assert.match(
      result.stderr,
      new RegExp(`Left out ${escaped('-oProxyCommand=touch${IFS}')}.* \\(store-uri-unusable\\): `),
    );
    assert.match(result.stderr, new RegExp(`Handing 1 builder to Nix: ${escaped(healthy.uri)}\\n`));
  });

  test('nothing left: no-machine, with every line and its reason', async () => {
    const nonce = randomBytes(6).toString('hex');
    const machines = join(dir, `machines-none-${nonce}`);
    writeFileSync(
      machines,
      `ssh://nix-healthy?remote-program=nix-store%0atrue ${lab.system}\nhttps://cache.example ${lab.system}\n`,
    );
    const file = join(dir, `none-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const result = await build(
      [file, '--distributed', '--machines', machines, '--ssh-config', lab.sshConfig, '--format', 'json'],
      lab.env(),
      dir,
    );
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as {
      ok: boolean;
      cause: string;
      message: string;
      leftOut: { uri: string; code: string }[];
    };
    assert.equal(json.cause, 'no-machine');
    assert.deepEqual(
      json.leftOut.map((l) => l.code),
      ['shell-in-store-setting', 'store-uri-unusable'],
    );
    assert.match(json.message, /ssh:\/\/nix-healthy\?remote-program=nix-store%0atrue \(shell-in-store-setting\)/);
  });

  test('one-machine builds refuse it too: the best pick skips it, --on it says machine-unusable', async () => {
    const nonce = randomBytes(6).toString('hex');
    const healthy = lab.builders.healthy;
    const marker = `/tmp/nixrb-shell-marker-${nonce}`;
    const rest = healthy.machinesLine.replace(/^\S+/, '').replace(/^(\s+\S+\s+\S+\s+\S+)\s+\S+/, '$1 9'); // speedFactor 9: the best
    const shellUri = `${healthy.uri}?remote-program=$(touch%20${marker})nix-store`;
    const machines = join(dir, `machines-one-${nonce}`);
    writeFileSync(machines, `${shellUri}${rest}\n${healthy.machinesLine}\n`);
    const file = join(dir, `one-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);

    const best = await build([file, '--machines', machines, '--ssh-config', lab.sshConfig], lab.env(), dir);
    assert.equal(best.code, 0, best.stderr);
    assert.match(best.stderr, new RegExp(`on ${healthy.uri.replace(/[/.]/g, '\\$&')}\n`));
    const on = await build(
      [file, '--on', shellUri, '--machines', machines, '--ssh-config', lab.sshConfig],
      lab.env(),
      dir,
    );
    assert.equal(on.code, 1);
    assert.match(on.stderr, /machine-unusable: .* is not used \(shell-in-store-setting\)/);
    assert.equal(existsSync(marker), false);
  });

  test("the language server's distributed build: probes first, leaves out the same lines, logs them, says so in the outcome", async () => {
    const nonce = randomBytes(6).toString('hex');
    const healthy = lab.builders.healthy;
    const marker = `/tmp/nixrb-shell-marker-${nonce}`;
    const proxyMarker = `/tmp/nixrb-proxy-marker-${nonce}`;
    const rest = healthy.machinesLine.replace(/^\S+/, '');
    const confDir = mkdtempSync(join(dir, 'etc-'));
    const machines = join(confDir, 'machines');
    writeFileSync(
      machines,
      `${healthy.uri}?remote-program=$(touch%20${marker})nix-store${rest}\n-oProxyCommand=touch\${IFS}${proxyMarker}${rest}\n${healthy.machinesLine}\n`,
    );
    writeFileSync(join(confDir, 'nix.conf'), `builders = @${machines}\n`);
    const file = join(dir, `server-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const rootBefore = proxyDirs('/');
    const client = await LspClient.start({
      env: lab.env({ NIX_CONF_DIR: confDir, NIX_USER_CONF_FILES: join(confDir, 'none') }),
      initializationOptions: { trusted: true },
    });
    client.settings = { ...client.settings, sshConfigFile: lab.sshConfig };
    const log: string[] = [];
    client.connection.onNotification(buildLogNotification, (params) => {
      if (params.line !== undefined) log.push(params.line);
    });
    let outcome: BuildOutcome;
    try {
      outcome = await client.connection.sendRequest(startBuildRequest, {
        file,
        buildId: `refuses-${nonce}`,
        on: 'distributed',
      });
    } finally {
      await client.stop();
    }
    assert.equal(existsSync(marker), false, 'the remote-program shell code ran');
    assert.equal(existsSync(proxyMarker), false);
    assert.deepEqual(proxyDirs('/'), rootBefore);
    assert.equal(outcome.ok, true, `${outcome.cause}: ${outcome.message}\n${log.join('\n')}`);
    assert.equal(readWhereBuilt(outcome.outputs[0]!.path).hostname, healthy.hostname);
    assert.deepEqual(
      outcome.leftOut?.map((l) => l.code),
      ['shell-in-store-setting', 'store-uri-unusable'],
    );
    const text = log.join('\n');
    assert.match(text, /Left out ssh:\/\/nix-healthy\?remote-program=.* \(shell-in-store-setting\): /);
    assert.match(text, /Left out -oProxyCommand=.* \(store-uri-unusable\): /);
    assert.match(
      text,
      /Handing 1 builder to Nix: ssh:\/\/nix-healthy\n|Handing 1 builder to Nix: ssh:\/\/nix-healthy$/m,
    );
  });
}
