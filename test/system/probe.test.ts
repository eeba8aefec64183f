// The health probe and the SSH layer against the lab's real builders (sshd + nix-daemon per
// host): every failure fixture yields its finding code, the healthy ones report their facts,
// a silent host delays nobody, hosts beginning with '-' never reach ssh, the pool shares and
// closes connections, ProxyJump and ssh-agent work, and the daemon context is reported.
//   node --import tsx --test test/system/probe.test.ts
import assert from 'node:assert/strict';
import { labCanRun } from './fixture/gate';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FindingCode } from '../../server/src/health/findings';
import {
  probeMachines,
  runProbe,
  type ProbeEvent,
  type ProbeMachine,
  type ProbeOptions,
  type ProbeResult,
} from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { acquireMachine } from '../../server/src/ssh/machineConnection';
import { connectMachine } from '../helpers/connectMachine';
import { ConnectionPool } from '../../server/src/ssh/pool';
import { exec } from '../../server/src/ssh/remoteCommand';
import { BUILDER_NAMES, provisionBuilders, run, type BuilderLab, type BuilderName } from './fixture';

const labRuns = labCanRun();

/** The stage timeout of the silent host: short, so the suite stays quick. */
const SILENT_TIMEOUT_MS = 3000;

const expectedCode: Record<BuilderName, FindingCode> = {
  healthy: 'ok',
  healthyNg: 'ok',
  pathless: 'nix-not-found',
  noisy: 'shell-noise',
  untrusted: 'untrusted-user',
  daemonDown: 'remote-daemon-down',
  wrongHostKey: 'host-key-mismatch',
  unknownHostKey: 'host-key-unknown',
  passphraseKey: 'key-encrypted',
  unauthorizedKey: 'auth-failed',
  closedPort: 'connection-refused',
  silent: 'banner-timeout',
};

function machinesOf(text: string, system: string) {
  const parsed = parseBuilders(text, nix2_8Rules, { localSystem: system });
  assert.deepEqual(parsed.problems, []);
  return parsed.machines;
}

const codes = (result: ProbeResult) => result.findings.map((finding) => finding.code);
const describeResult = (result: ProbeResult) =>
  `${result.uri} ${result.status}\n  stages: ${result.stages.map((s) => `${s.name}:${s.ms}${s.ok ? '' : '!'}`).join(' ')}\n  ${result.findings.map((f) => `${f.code}: ${f.message}`).join('\n  ')}`;

function countAccepted(log: string): number {
  try {
    return (fs.readFileSync(log, 'utf8').match(/Accepted publickey for/g) ?? []).length;
  } catch {
    return 0;
  }
}

async function eventually(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('health probe on real builders', { skip: !labRuns }, () => {
  let lab: BuilderLab;
  let options: ProbeOptions;
  /** All twelve builders probed at once, in `before`. */
  let all: {
    results: ProbeResult[];
    arrival: BuilderName[];
    totalMs: number;
    healthyDoneBeforeSilentTimeout: boolean[];
  };

  before(async () => {
    lab = await provisionBuilders();
    options = { env: lab.env(), timeoutMs: 8000, stageTimeouts: { handshake: SILENT_TIMEOUT_MS } };
    const names = [...BUILDER_NAMES];
    const machines = machinesOf(lab.machines(...names), lab.system);
    const arrival: BuilderName[] = [];
    let silentTimedOut = false;
    const healthyDoneBeforeSilentTimeout: boolean[] = [];
    const started = Date.now();
    const results = await probeMachines(
      machines,
      options,
      (_result, index) => {
        const name = names[index]!;
        arrival.push(name);
        if (name === 'healthy' || name === 'healthyNg') healthyDoneBeforeSilentTimeout.push(!silentTimedOut);
      },
      (event: ProbeEvent, index) => {
        if (names[index] === 'silent' && event.kind === 'stage' && event.stage.name === 'handshake')
          silentTimedOut = true;
      },
    );
    all = { results, arrival, totalMs: Date.now() - started, healthyDoneBeforeSilentTimeout };
  });

  after(async () => {
    await lab?.stop();
  });

  const resultOf = (name: BuilderName) => all.results[BUILDER_NAMES.indexOf(name)]!;

  for (const name of ['healthy', 'healthyNg'] as const) {
    test(`${name}: up, every stage ok, with its facts`, (t) => {
      const result = resultOf(name);
      assert.equal(result.status, 'up', describeResult(result));
      assert.deepEqual(codes(result), ['ok']);
      assert.deepEqual(
        result.stages.map((stage) => stage.name),
        ['resolve', 'tcp', 'handshake', 'auth', 'remote-program', 'shell-noise', 'store', 'facts'],
      );
      assert.ok(result.stages.every((stage) => stage.ok && stage.ms >= 0));
      const facts = result.facts;
      assert.equal(facts.system, lab.system);
      assert.equal(facts.nixVersion, '2.8.0');
      assert.equal(facts.daemonNixVersion, '2.8.0');
      assert.ok((facts.cores ?? 0) >= 1);
      assert.equal(facts.load?.length, 3);
      assert.ok((facts.storeFreeBytes ?? 0) > 0);
      assert.equal(facts.trusted, true);
      assert.equal(facts.remoteUser, lab.user);
      assert.equal(facts.hostKey?.verifiedBy, 'column 8');
      assert.equal(facts.authenticatedWith?.source, lab.clientKey);
      if (name === 'healthy') assert.match(facts.serveProtocol ?? '', /^2\.\d+$/);
      const ms = (stage: string) => result.stages.find((s) => s.name === stage)?.ms;
      t.diagnostic(
        `${name}: handshake ${ms('handshake')} ms, auth ${ms('auth')} ms, remote-program ${ms('remote-program')} ms, shell-noise ${ms('shell-noise')} ms, store ${ms('store')} ms, facts ${ms('facts')} ms, total ${result.ms} ms`,
      );
    });
  }

  for (const name of BUILDER_NAMES.filter((n) => n !== 'healthy' && n !== 'healthyNg')) {
    test(`${name}: ${expectedCode[name]}`, () => {
      const result = resultOf(name);
      assert.ok(codes(result).includes(expectedCode[name]), describeResult(result));
      assert.equal(result.status, 'down', describeResult(result));
      for (const finding of result.findings) {
        assert.ok(!/\n\s+at /.test(finding.message), 'no stack traces in messages');
      }
    });
  }

  test('untrusted-user: the copied fix appends the nix.conf line that trusts the SSH user, then restarts the daemon', () => {
    const action = resultOf('untrusted').findings.find((finding) => finding.code === 'untrusted-user')?.action;
    assert.equal(action?.kind, 'copy-command');
    const command = action?.kind === 'copy-command' ? action.command : '';
    // Run it as the user would, with a `sudo` on the PATH that records what it was asked to do
    // (and writes what `tee -a` gets into a file of ours instead of /etc/nix/nix.conf).
    const bin = fs.mkdtempSync(path.join(lab.dir, 'sudo-'));
    const record = path.join(bin, 'record');
    fs.writeFileSync(
      path.join(bin, 'sudo'),
      `#!/bin/sh\necho "$*" >> ${record}\n[ "$1" = tee ] && cat >> ${record}.conf\nexit 0\n`,
      { mode: 0o755 },
    );
    const ran = spawnSync('sh', ['-c', command], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    assert.equal(ran.status, 0, ran.stderr);
    assert.deepEqual(fs.readFileSync(record, 'utf8').trim().split('\n'), [
      'tee -a /etc/nix/nix.conf',
      'systemctl restart nix-daemon',
    ]);
    assert.equal(fs.readFileSync(`${record}.conf`, 'utf8'), `extra-trusted-users = ${lab.builders.untrusted.user}\n`);
  });

  test('an unverified host key stops before authentication: no auth stage, no login attempt on the server', async () => {
    for (const name of ['wrongHostKey', 'unknownHostKey'] as const) {
      const result = resultOf(name);
      assert.deepEqual(
        result.stages.map((stage) => stage.name),
        ['resolve', 'tcp', 'handshake'],
        describeResult(result),
      );
      const log = fs.readFileSync(lab.builders[name].sshdLog, 'utf8');
      assert.ok(!/publickey|Accepted|Failed/.test(log), `${name}'s sshd saw an authentication attempt:\n${log}`);
    }
    const unknown = resultOf('unknownHostKey').findings.find((finding) => finding.code === 'host-key-unknown');
    assert.equal(unknown?.action?.kind, 'pin-host-key');
    const pin = unknown?.action?.kind === 'pin-host-key' ? unknown.action : undefined;
    assert.equal(
      pin?.column8,
      lab.builders.unknownHostKey.hostKeyBase64.length > 0
        ? Buffer.from(lab.builders.unknownHostKey.hostPublicKeyLine.split(' ').slice(0, 2).join(' ')).toString('base64')
        : '',
    );
    assert.match(unknown?.message ?? '', /SHA256:/);
  });

  test('a silent host delays nobody: both healthy results arrive before its timeout fires, it comes last', (t) => {
    assert.deepEqual(all.healthyDoneBeforeSilentTimeout, [true, true]);
    assert.equal(all.arrival[all.arrival.length - 1], 'silent');
    const silent = resultOf('silent');
    const handshake = silent.stages.find((stage) => stage.name === 'handshake');
    assert.equal(handshake?.ok, false);
    // It ended on its own stage timeout (no banner ever came), not on anything the others did.
    assert.deepEqual(codes(silent), ['banner-timeout'], describeResult(silent));
    const sum = all.results.reduce((total, result) => total + result.ms, 0);
    const slowestOther = Math.max(...all.results.filter((result) => result !== silent).map((result) => result.ms));
    t.diagnostic(
      `12 builders in parallel: ${all.totalMs} ms in all; sum of the single probes ${sum} ms; slowest non-silent ${slowestOther} ms; silent ${silent.ms} ms (stage timeout ${SILENT_TIMEOUT_MS} ms)`,
    );
    t.diagnostic(`arrival order: ${all.arrival.join(', ')}`);
  });

  test('an encrypted key: with the passphrase given, it logs in and the probe goes on; the passphrase is never in the result', async () => {
    const asked: string[] = [];
    const machine = machinesOf(lab.machines('passphraseKey'), lab.system)[0]!;
    const result = await runProbe(machine, {
      ...options,
      askPassphrase: async (file) => {
        asked.push(file);
        return lab.passphrase;
      },
    });
    assert.deepEqual(asked, [lab.passphraseKey]);
    assert.ok(!codes(result).includes('key-encrypted'), describeResult(result));
    assert.ok(
      result.stages.every((stage) => stage.ok),
      describeResult(result),
    );
    assert.equal(result.facts.system, lab.system);
    // The lab's ssh config says BatchMode yes: ssh under Nix could not ask for it.
    assert.deepEqual(codes(result), ['key-passphrase-prompt']);
    assert.equal(result.status, 'degraded');
    assert.ok(!JSON.stringify(result).includes(lab.passphrase), 'the passphrase leaked into the result');
    const declined = await runProbe(machine, { ...options, askPassphrase: async () => undefined });
    assert.ok(codes(declined).includes('key-encrypted'));
    const underDaemon = await runProbe(machine, {
      ...options,
      daemon: true,
      askPassphrase: async () => lab.passphrase,
    });
    assert.ok(codes(underDaemon).includes('key-encrypted'), 'the nix-daemon can never ask for a passphrase');
  });

  test('hosts beginning with - never reach ssh: no ssh run, no TCP connection, a finding instead', async () => {
    const marker = path.join(lab.dir, 'proxy-command-ran');
    const evil = path.join(lab.dir, 'evil.sh');
    fs.writeFileSync(evil, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const sshRan = path.join(lab.dir, 'fake-ssh-ran');
    const fakeSsh = path.join(lab.dir, 'fake-ssh');
    fs.writeFileSync(fakeSsh, `#!/bin/sh\necho "$@" >> ${sshRan}\nexit 1\n`, { mode: 0o755 });
    let tcp = 0;
    const machines: ProbeMachine[] = [
      { storeUri: `ssh://-oProxyCommand=${evil}`, sshKey: undefined, publicHostKey: undefined },
      { storeUri: `ssh://-oProxyCommand=${evil}@nix-healthy`, sshKey: undefined, publicHostKey: undefined },
      { storeUri: `ssh-ng://-F${evil}`, sshKey: undefined, publicHostKey: undefined },
    ];
    for (const sshBinary of [undefined, fakeSsh]) {
      const results = await probeMachines(machines, {
        ...options,
        ...(sshBinary ? { sshBinary } : {}),
        onTcpConnect: () => tcp++,
      });
      for (const result of results) {
        assert.deepEqual(codes(result), ['invalid-host'], describeResult(result));
        assert.equal(result.status, 'down');
        assert.deepEqual(
          result.stages.map((stage) => [stage.name, stage.ok]),
          [['resolve', false]],
        );
      }
    }
    assert.equal(tcp, 0);
    assert.ok(!fs.existsSync(marker), 'the ProxyCommand ran');
    assert.ok(!fs.existsSync(sshRan), 'ssh was run for a host beginning with -');
  });

  test('the pool shares one connection between concurrent users and closes it when idle', async (t) => {
    const machine = machinesOf(lab.machines('healthy'), lab.system)[0]!;
    const pool = new ConnectionPool({ idleMs: 300 });
    let tcp = 0;
    const connectOptions = { env: lab.env(), onTcpConnect: () => tcp++ };
    const log = lab.builders.healthy.sshdLog;
    const acceptedBefore = countAccepted(log);
    const leases = await Promise.all([1, 2, 3].map(() => acquireMachine(pool, machine, connectOptions)));
    assert.equal(tcp, 1, 'one TCP connection for three concurrent requests');
    const connections = leases.map((lease) => (lease.ok ? lease.lease.connection : assert.fail(JSON.stringify(lease))));
    assert.ok(connections.every((connection) => connection === connections[0]));
    // Three commands at once on the shared connection (ssh channels).
    const runs = await Promise.all(
      connections.map((connection, i) => exec(connection.client, ['echo', `run ${i}`], { timeoutMs: 5000 })),
    );
    assert.deepEqual(
      runs.map((r) => r.stdout),
      ['run 0\n', 'run 1\n', 'run 2\n'],
    );
    const later = await acquireMachine(pool, machine, connectOptions);
    assert.ok(later.ok && later.lease.reused, 'a later request while leased reuses the connection');
    assert.equal(tcp, 1);
    await eventually('sshd logs the one login', () => countAccepted(log) >= acceptedBefore + 1);
    assert.equal(countAccepted(log) - acceptedBefore, 1, 'the server saw exactly one login');
    for (const lease of [...leases, later]) if (lease.ok) lease.lease.release();
    await eventually('the idle connection is closed', () => connections[0]!.closed, 3000);
    assert.equal(pool.stats().closedIdle, 1);
    assert.equal(pool.stats().open, 0);
    const fresh = await acquireMachine(pool, machine, connectOptions);
    assert.ok(fresh.ok && !fresh.lease.reused, 'after the idle close, not reused');
    assert.equal(tcp, 2, 'after the idle close, a new connection');
    if (fresh.ok) fresh.lease.release();
    await pool.close();
    // A probe given the pool leaves its connection there for the next user. (A pool whose idle
    // time cannot run out between the two, however loaded the machine is.)
    const patient = new ConnectionPool({ idleMs: 60_000 });
    const adopted = await runProbe(machine, { ...options, pool: patient, onTcpConnect: () => tcp++ });
    assert.equal(adopted.status, 'up');
    const tcpAfterProbe = tcp;
    const reuse = await acquireMachine(patient, machine, connectOptions);
    assert.ok(reuse.ok && reuse.lease.reused, "the probe's connection is in the pool");
    assert.equal(tcp, tcpAfterProbe, "the probe's connection was reused");
    if (reuse.ok) reuse.lease.release();
    await patient.close();
    t.diagnostic(`pool: ${JSON.stringify(pool.stats())}`);
  });

  test('exec on a builder: arguments survive the remote login shell; timeout, output cap, abort', async () => {
    const machine = machinesOf(lab.machines('healthy'), lab.system)[0]!;
    const connected = await connectMachine(machine, { env: lab.env() });
    assert.ok(connected.ok, JSON.stringify(!connected.ok && connected.failure));
    const client = connected.connection.client;
    try {
      const hostile = ["it's", '$(id)', '`id`', 'a b', '', '*', 'new\nline', '\\', '"', ';', '~'];
      const echoed = await exec(client, ['printf', '%s\\0', ...hostile], { timeoutMs: 5000 });
      assert.equal(echoed.code, 0);
      assert.deepEqual(echoed.stdout.split('\0').slice(0, -1), hostile);
      // A command past its timeout is given up: no exit code of its own.
      const slow = await exec(client, ['sleep', '10'], { timeoutMs: 300 });
      assert.equal(slow.timedOut, true);
      assert.equal(slow.code, null);
      const big = await exec(client, ['head', '-c', '3000000', '/dev/zero'], {
        timeoutMs: 10_000,
        maxOutputBytes: 1000,
      });
      assert.equal(big.truncated, true);
      assert.equal(big.stdout.length, 1000);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const aborted = await exec(client, ['sleep', '10'], { timeoutMs: 10_000, signal: controller.signal });
      assert.equal(aborted.aborted, true);
      const failing = await exec(client, ['sh', '-c', 'echo oops >&2; exit 3'], { timeoutMs: 5000 });
      assert.equal(failing.code, 3);
      assert.equal(failing.stderr, 'oops\n');
    } finally {
      connected.connection.close();
    }
  });

  test('the events stream: stages in order, then the result', async () => {
    const machine = machinesOf(lab.machines('healthyNg'), lab.system)[0]!;
    const events: ProbeEvent[] = [];
    await runProbe(machine, options, (event) => events.push(event));
    assert.equal(events[events.length - 1]?.kind, 'result');
    const stages = events.flatMap((event) => (event.kind === 'stage' ? [event.stage.name] : []));
    assert.deepEqual(stages, [
      'resolve',
      'tcp',
      'handshake',
      'auth',
      'remote-program',
      'shell-noise',
      'store',
      'facts',
    ]);
  });

  test('ProxyJump: reached through a jump host with forwardOut; only the jump host gets a TCP connection', async () => {
    const ng = lab.builders.healthyNg;
    const config = path.join(lab.dir, 'ssh_config_jump');
    fs.writeFileSync(
      config,
      [
        `Include ${lab.sshConfig}`,
        'Host nix-jumped',
        `  HostName ${ng.address}`,
        `  Port ${ng.port}`,
        `  User ${lab.user}`,
        `  IdentityFile ${lab.clientKey}`,
        '  IdentitiesOnly yes',
        '  HostKeyAlias nix-jumped',
        `  UserKnownHostsFile ${lab.knownHosts}`,
        '  GlobalKnownHostsFile /dev/null',
        '  ProxyJump nix-healthy',
        '',
      ].join('\n'),
    );
    const machine = machinesOf(`ssh-ng://nix-jumped ${lab.system} - 1 1 - - ${ng.hostKeyBase64}`, lab.system)[0]!;
    const connected: string[] = [];
    const result = await runProbe(machine, {
      ...options,
      env: lab.env({ NIX_SSHOPTS: `-F ${config}` }),
      onTcpConnect: (host) => connected.push(host),
    });
    assert.equal(result.status, 'up', describeResult(result));
    assert.deepEqual(connected, [lab.builders.healthy.address]);
    assert.deepEqual(result.facts.resolved?.proxyJump, ['nix-healthy']);
    assert.equal(result.facts.remoteUser, lab.user);
  });

  test('a name that does not resolve: dns-failed', async () => {
    const config = path.join(lab.dir, 'ssh_config_dns');
    fs.writeFileSync(config, 'Host nix-nowhere\n  HostName nix-nowhere.invalid\n  BatchMode yes\n');
    const machine = machinesOf(`ssh://nix-nowhere ${lab.system}`, lab.system)[0]!;
    const result = await runProbe(machine, { ...options, env: lab.env({ NIX_SSHOPTS: `-F ${config}` }) });
    assert.deepEqual(codes(result), ['dns-failed'], describeResult(result));
  });

  test('cross-checks against the line: systems and features the builder lacks, low disk', async () => {
    const healthy = lab.builders.healthy;
    const line = `${healthy.uri} aarch64-linux,${lab.system} ${lab.clientKey} 1 1 big-parallel,cuda kvm ${healthy.hostKeyBase64}`;
    const machine = machinesOf(line, lab.system)[0]!;
    const result = await runProbe(machine, { ...options, lowDiskBytes: Number.MAX_SAFE_INTEGER });
    const found = codes(result);
    assert.ok(found.includes('system-mismatch'), describeResult(result));
    assert.ok(found.includes('feature-mismatch'), describeResult(result));
    assert.ok(found.includes('low-disk'), describeResult(result));
    const features = result.findings.find((finding) => finding.code === 'feature-mismatch')!;
    assert.match(features.message, /cuda/);
    assert.match(result.findings.find((finding) => finding.code === 'system-mismatch')!.message, /aarch64-linux/);
    // kvm: the builder has /dev/kvm only if this machine does (the hosts share /dev).
    assert.equal(/\bkvm\b/.test(features.message.split('which')[0]!), !fs.existsSync('/dev/kvm'));
  });

  test('column 3 that cannot be read, and no other key gets in: key-unreadable', async () => {
    const builder = lab.builders.unauthorizedKey;
    const missingKey = path.join(lab.dir, 'keys', 'no-such-key');
    const machine = machinesOf(
      `${builder.uri} ${lab.system} ${missingKey} 1 1 - - ${builder.hostKeyBase64}`,
      lab.system,
    )[0]!;
    const result = await runProbe(machine, options);
    assert.deepEqual(codes(result), ['key-unreadable'], describeResult(result));
    assert.match(result.findings[0]!.message, /no-such-key/);
    assert.equal(result.findings[0]!.action?.kind, 'open-line');
  });

  test('without an ssh binary the config files are read directly, with the same result', async () => {
    const machine = machinesOf(lab.machines('healthy'), lab.system)[0]!;
    const result = await runProbe(machine, { ...options, sshBinary: null });
    assert.equal(result.status, 'up', describeResult(result));
    assert.equal(result.facts.resolved?.source, 'config files');
    assert.equal(result.facts.resolved?.hostName, lab.builders.healthy.address);
  });

  describe('ssh-agent and the daemon context', () => {
    let agent: ChildProcess | undefined;
    let socket: string;
    let config: string;

    before(async () => {
      socket = path.join(lab.dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      await eventually('ssh-agent listens', () => fs.existsSync(socket), 5000);
      const added = await run('ssh-add', [lab.clientKey], { env: { ...lab.env(), SSH_AUTH_SOCK: socket } });
      assert.equal(added.code, 0, added.output);
      const healthy = lab.builders.healthy;
      config = path.join(lab.dir, 'ssh_config_agent');
      fs.writeFileSync(
        config,
        [
          'Host nix-agent',
          `  HostName ${healthy.address}`,
          `  Port ${healthy.port}`,
          `  User ${lab.user}`,
          `  IdentityFile ${path.join(lab.dir, 'no-such-key')}`,
          '  HostKeyAlias nix-healthy',
          `  UserKnownHostsFile ${lab.knownHosts}`,
          '  GlobalKnownHostsFile /dev/null',
          '  BatchMode yes',
          '',
        ].join('\n'),
      );
    });

    after(() => {
      if (agent?.pid !== undefined && agent.exitCode === null) process.kill(agent.pid, 'SIGTERM');
    });

    const agentMachine = () => machinesOf(`ssh://nix-agent ${lab.system}`, lab.system)[0]!;
    const agentEnv = () => lab.env({ NIX_SSHOPTS: `-F ${config}`, SSH_AUTH_SOCK: socket });

    test('a key from ssh-agent logs in (no key file at all)', async () => {
      const result = await runProbe(agentMachine(), { ...options, env: agentEnv() });
      assert.equal(result.status, 'up', describeResult(result));
      assert.equal(result.facts.authenticatedWith?.source, 'agent');
      assert.equal(
        result.facts.hostKey?.verifiedBy,
        `${lab.knownHosts}:${
          fs
            .readFileSync(lab.knownHosts, 'utf8')
            .split('\n')
            .findIndex((line) => line.startsWith('nix-healthy,')) + 1
        }`,
      );
    });
    // What works for you but not for the nix-daemon (root): daemon-context.test.ts, against a real daemon.
  });
});
