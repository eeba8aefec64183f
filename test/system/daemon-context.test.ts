// The daemon-context findings, proven with a real root nix-daemon (fixture/clientDaemon.ts): in
// each case the builder works for the user (the probe, run as nixrb-trusted, logs in) and fails
// for the daemon, which runs ssh as root with root's own ~/.ssh and environment. Then real Nix
// builds through that daemon (the user is trusted, so its --builders is honoured) and fails the
// way the finding predicts. No "pretend there is a daemon" flag: the probe sees the daemon's
// socket and runs as a non-root user, as the server does on a multi-user install.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { ProbeResult } from '../../server/src/health/probe';
import { whereBuiltExpression, type BuilderLab } from './fixture';
import { TRUSTED_USER, type ClientDaemon } from './fixture/clientDaemon';
import { startClientLab, runScriptAs } from './fixture/clientLab';
import { labCanRun } from './fixture/gate';
import { waitUntil } from './fixture/network';
import { renderSshConfig } from './fixture/ssh-config';

const user = TRUSTED_USER;
// ssh run by root without the alias looks `nix-healthy` up: only with DNS sealed (npm test) may it.
const dnsSealed = process.env.CI === 'true' || process.env.NIXRB_DNS_SEALED === '1';
const needsSealedDns = dnsSealed
  ? false
  : "run through `npm test` (as root): root's ssh would look the alias up in DNS";

if (labCanRun()) {
  let lab: BuilderLab<'healthy'>, client: ClientDaemon, stop: (() => Promise<void>) | undefined;
  before(async () => ({ lab, client, stop } = await startClientLab()));
  after(() => stop?.());
  afterEach(() => {
    client.resetRootSsh();
    client.resetUserSsh(user);
  });

  const line = (columns = '') => `ssh://nix-healthy ${lab.system}${columns}`;

  /** The probe as the user, as the server would run it; the user's login must work. */
  const probeAsUser = async (
    machinesLine: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ result: ProbeResult; codes: string[] }> => {
    const run = await runScriptAs(client, user, 'test/system/asUser/probe.ts', [machinesLine], env);
    assert.equal(run.code, 0, run.output);
    const { daemon, result } = JSON.parse(run.stdout) as { daemon: boolean; result: ProbeResult };
    assert.equal(daemon, true, 'the local Nix builds through the daemon');
    const codes = result.findings.map((finding) => finding.code);
    assert.ok(codes.includes('daemon-context'), codes.join(' '));
    return { result, codes };
  };
  const describeResult = (result: ProbeResult) => result.findings.map((f) => `${f.code}: ${f.message}`).join('\n');
  const loggedIn = (result: ProbeResult) =>
    assert.ok(
      result.facts.authenticatedWith !== undefined,
      `the user's own login must work\n${describeResult(result)}`,
    );

  /** Real Nix as the user, through the daemon, with this machines line (a fresh derivation each time). */
  const nixBuild = async (machinesLine: string, env: NodeJS.ProcessEnv = {}) => {
    const nonce = randomBytes(6).toString('hex');
    client.writeUserFile(user, `${nonce}.nix`, whereBuiltExpression({ nonce, system: lab.system }), 0o644);
    return client.runAs(user, 'nix-build', ['--no-out-link', '-j0', '--builders', machinesLine, `${nonce}.nix`], {
      env: client.userEnv(user, env),
      timeoutMs: 60_000,
    });
  };

  test("the control: with root's ~/.ssh reaching the builder, the same line builds through the daemon", async () => {
    const built = await nixBuild(line());
    assert.equal(built.code, 0, built.output);
  });

  test('root lacks the known_hosts entry: daemon-needs-host-key; Nix: "Host key verification failed."', async () => {
    client.writeRootSsh('known_hosts', '');
    const { result, codes } = await probeAsUser(line());
    loggedIn(result);
    assert.ok(codes.includes('daemon-needs-host-key'), describeResult(result));
    const built = await nixBuild(line());
    assert.notEqual(built.code, 0, built.output);
    assert.match(built.output, /No ED25519 host key is known for nix-healthy/);
    assert.match(built.output, /Host key verification failed\./);
    // The fix the finding offers, pinning the key in column 8, is enough for the daemon.
    const pinned = line(` - 1 1 - - ${lab.builders.healthy.hostKeyBase64}`);
    const after = await probeAsUser(pinned);
    assert.ok(!after.codes.includes('daemon-needs-host-key'), describeResult(after.result));
    const fixed = await nixBuild(pinned);
    assert.equal(fixed.code, 0, fixed.output);
  });

  test(
    "the Host alias is only in the user's ssh config: daemon-user-config; Nix: root's ssh cannot resolve the alias",
    { skip: needsSealedDns },
    async () => {
      client.writeRootSsh('config', '');
      const { result, codes } = await probeAsUser(line());
      loggedIn(result);
      const finding = result.findings.find((f) => f.code === 'daemon-user-config');
      assert.ok(finding, describeResult(result));
      assert.match(finding.message, /root would reach [^ ]*nix-healthy:22/);
      assert.ok(codes.length > 0);
      const built = await nixBuild(line());
      assert.notEqual(built.code, 0, built.output);
      assert.match(built.output, /Could not resolve hostname nix-healthy/);
    },
  );

  test("the key is where only the user has it (column 3 is ~/…): daemon-cannot-read-key; Nix: root's ssh has no such key", async () => {
    client.writeRootSsh('lab_client', undefined);
    const { result, codes } = await probeAsUser(line(' ~/.ssh/lab_client'));
    loggedIn(result);
    assert.ok(codes.includes('daemon-cannot-read-key'), describeResult(result));
    assert.match(
      result.findings.find((f) => f.code === 'daemon-cannot-read-key')!.message,
      /\/root\/\.ssh\/lab_client/,
    );
    const built = await nixBuild(line(' ~/.ssh/lab_client'));
    assert.notEqual(built.code, 0, built.output);
    assert.match(built.output, /Permission denied \(publickey\)/);
  });

  test('the key has a passphrase (the user can type it): key-encrypted, for the daemon; Nix: "Permission denied (publickey)."', async () => {
    client.writeRootSsh('lab_client', undefined);
    const key = client.users[user].passphraseKey;
    const { result, codes } = await probeAsUser(line(` ${key}`), { NIXRB_TEST_PASSPHRASE: lab.passphrase });
    loggedIn(result);
    const finding = result.findings.find((f) => f.code === 'key-encrypted');
    assert.ok(finding, describeResult(result));
    assert.match(finding.message, /nix-daemon runs ssh as root with no terminal and no agent/);
    assert.ok(codes.includes('key-encrypted'));
    const built = await nixBuild(line(` ${key}`));
    assert.notEqual(built.code, 0, built.output);
    assert.match(built.output, /Permission denied \(publickey\)/);
  });

  test('the key is only in the user\'s ssh-agent: daemon-agent-only; Nix: "Permission denied (publickey)." (the daemon has no agent)', async (t) => {
    client.writeRootSsh('lab_client', undefined);
    const home = client.users[user].home;
    const socket = `${home}/agent.sock`;
    const [program, args] = client.commandAs(user, 'ssh-agent', ['-D', '-a', socket]);
    const agent: ChildProcess = spawn(program, args, { env: client.userEnv(user), stdio: 'ignore' });
    t.after(() => {
      if (agent.pid !== undefined && agent.exitCode === null) process.kill(agent.pid, 'SIGKILL');
      client.writeUserFile(user, 'agent.sock', undefined);
    });
    await waitUntil(
      "the user's ssh-agent listens",
      async () => fs.existsSync(path.join(client.users[user].homeOutside, 'agent.sock')),
      5000,
    );
    const withAgent = { SSH_AUTH_SOCK: socket };
    const added = await client.runAs(user, 'ssh-add', [client.users[user].clientKey], {
      env: client.userEnv(user, withAgent),
    });
    assert.equal(added.code, 0, added.output);
    // The user's ssh config names no key file that exists: only the agent has the key.
    const entries = Object.values(lab.builders).map((b) => ({
      alias: b.alias,
      address: b.address,
      port: b.port,
      user: b.user,
      identityFile: `${home}/.ssh/no-such-key`,
    }));
    client.writeUserFile(
      user,
      '.ssh/config',
      renderSshConfig(entries, `${home}/.ssh/known_hosts`).replace(/\n {2}IdentitiesOnly yes/g, ''),
      0o644,
    );
    const { result, codes } = await probeAsUser(line(), withAgent);
    loggedIn(result);
    assert.equal(result.facts.authenticatedWith?.source, 'agent');
    assert.ok(codes.includes('daemon-agent-only'), describeResult(result));
    assert.equal(result.status, 'down', 'a key only in your agent cannot work for the daemon');
    const built = await nixBuild(line(), withAgent);
    assert.notEqual(built.code, 0, built.output);
    assert.match(built.output, /Permission denied \(publickey\)/);
  });

  test(
    "NIX_SSHOPTS set in the user's shell only: daemon-user-config names it; Nix: the daemon never sees it",
    { skip: needsSealedDns },
    async () => {
      const home = client.users[user].home;
      // The user's hosts are in a file only their NIX_SSHOPTS points at; root has none.
      const config = fs.readFileSync(path.join(client.users[user].homeOutside, '.ssh/config'), 'utf8');
      client.writeUserFile(user, '.ssh/lab_config', config, 0o644);
      client.writeUserFile(user, '.ssh/config', '', 0o644);
      client.writeRootSsh('config', '');
      const opts = { NIX_SSHOPTS: `-F ${home}/.ssh/lab_config` };
      const { result } = await probeAsUser(line(), opts);
      loggedIn(result);
      const finding = result.findings.find((f) => f.code === 'daemon-user-config');
      assert.ok(finding, describeResult(result));
      assert.match(finding.message, /NIX_SSHOPTS/);
      const built = await nixBuild(line(), opts);
      assert.notEqual(built.code, 0, built.output);
      assert.match(built.output, /Could not resolve hostname nix-healthy/);
    },
  );
}
