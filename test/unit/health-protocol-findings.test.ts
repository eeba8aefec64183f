// The health layer's pure parts: the finding table, the facts parser, and the two Nix protocol
// greetings spoken to the real Nix programs of this machine (nix-store --serve and
// nix-daemon --stdio, run locally as they would run on a builder).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { ClientChannel } from 'ssh2';
import { FINDINGS, makeFinding, type FindingCode, type FindingContext } from '../../server/src/health/findings';

const findingCodes = Object.keys(FINDINGS) as FindingCode[];
import { serveGreeting, workerGreeting } from '../../server/src/health/nixProtocol';
import { daemonProgramBeside, nixProgramBeside, parseFacts } from '../../server/src/health/remoteFacts';
import { skipWithout } from '../helpers/realTools';

describe('finding table', () => {
  const required = [
    'dns-failed',
    'connection-refused',
    'connect-timeout',
    'banner-timeout',
    'host-key-mismatch',
    'host-key-unknown',
    'auth-failed',
    'key-encrypted',
    'key-unreadable',
    'nix-not-found',
    'shell-noise',
    'untrusted-user',
    'remote-daemon-down',
    'system-mismatch',
    'feature-mismatch',
    'low-disk',
    'ok',
  ];

  test('has every code the issue asks for, each with a severity', () => {
    for (const code of required) assert.ok(code in FINDINGS, code);
    for (const code of findingCodes) assert.ok(['error', 'warning', 'info'].includes(FINDINGS[code].severity), code);
  });

  test('every message builds from a bare context and from a full one, without "undefined"', () => {
    const full: FindingContext = {
      uri: 'ssh://nix@builder',
      alias: 'builder',
      user: 'nix',
      hostName: '10.0.0.2',
      port: 22,
      daemon: true,
      detail: 'a detail.',
      keyFile: '/home/u/.ssh/builder',
      otherKey: '/home/u/.ssh/id_ed25519',
      keyType: 'ssh-ed25519',
      fingerprint: 'SHA256:abc',
      expectedFingerprint: 'SHA256:def',
      keySource: 'column 8',
      lookupName: 'builder',
      knownHostsFiles: ['/home/u/.ssh/known_hosts'],
      column8NameMismatch: false,
      program: 'nix-store',
      protocol: 'ssh',
      output: 'bash: nix-store: command not found',
      systems: ['aarch64-linux'],
      builderSystems: ['x86_64-linux'],
      features: ['kvm'],
      builderFeatures: ['big-parallel'],
      kvmMissing: true,
      freeBytes: 1024 ** 3 / 2,
      thresholdBytes: 1024 ** 3,
      summary: 'Nix 2.8.0',
      differences: ['one'],
      timeoutMs: 5000,
    };
    for (const code of findingCodes) {
      const bare = makeFinding(code, { uri: 'ssh://b', alias: 'b' });
      assert.ok(bare.message.length > 10, code);
      const rich = makeFinding(code, full);
      assert.ok(!/undefined|\[object/.test(rich.message), `${code}: ${rich.message}`);
      assert.equal(rich.severity, FINDINGS[code].severity);
    }
  });

  test("messages name the cause and the fix in the user's words", () => {
    const context: FindingContext = {
      uri: 'ssh://b',
      alias: 'b',
      user: 'nix',
      program: 'nix-store',
      output: 'bash: line 1: nix-store: command not found',
    };
    assert.match(
      makeFinding('nix-not-found', context).message,
      /PATH of non-interactive shells.*NixOS.*nix-darwin.*remote-program=/s,
    );
    assert.match(makeFinding('untrusted-user', context).message, /trusted-users.*nix\.settings\.trusted-users/s);
    assert.match(makeFinding('key-encrypted', { ...context, keyFile: '/k' }).message, /ssh-keygen -p -f \/k/);
    assert.match(
      makeFinding('host-key-unknown', { ...context, daemon: true, fingerprint: 'SHA256:x', lookupName: 'b' }).message,
      /root's keys, known_hosts.*column 8/s,
    );
    assert.match(
      makeFinding('shell-noise', { ...context, output: 'Welcome!' }).message,
      /'Welcome!'.*protocol mismatch/s,
    );
  });
});

describe('facts', () => {
  test('parses the facts script output, noise and all', () => {
    const output = [
      'Welcome to the builder!',
      '@@nix-config',
      'cores = 0',
      'extra-platforms = i686-linux',
      'system = x86_64-linux',
      'system-features = benchmark big-parallel kvm nixos-test',
      'trusted-users = root nix',
      '@@nproc',
      '16',
      '@@loadavg',
      '0.52 0.58 0.59 2/1234 5678',
      '@@df',
      'Filesystem     1024-blocks     Used Available Capacity Mounted on',
      '/dev/nvme0n1p2   976284628 512345678 463938950      53% /',
      '@@kvm',
      'rw',
      '@@uname',
      'Linux x86_64',
      '@@id',
      'nix',
      'nix wheel',
      '@@end',
    ].join('\n');
    const facts = parseFacts(output);
    assert.equal(facts.system, 'x86_64-linux');
    assert.deepEqual(facts.extraPlatforms, ['i686-linux']);
    assert.deepEqual(facts.systemFeatures, ['benchmark', 'big-parallel', 'kvm', 'nixos-test']);
    assert.deepEqual(facts.trustedUsers, ['root', 'nix']);
    assert.equal(facts.cores, 16);
    assert.deepEqual(facts.load, [0.52, 0.58, 0.59]);
    assert.equal(facts.storeFreeBytes, 463938950 * 1024);
    assert.equal(facts.kvm, 'rw');
    assert.equal(facts.remoteUser, 'nix');
    assert.deepEqual(facts.remoteGroups, ['nix', 'wheel']);
  });

  test('macOS load average format and a nix that is missing', () => {
    const facts = parseFacts('@@nix-config\nsh: nix: not found\n@@loadavg\n{ 1.20 1.30 1.40 }\n@@end\n');
    assert.deepEqual(facts.load, [1.2, 1.3, 1.4]);
    assert.equal(facts.system, undefined);
    assert.equal(facts.nixConfigError, 'sh: nix: not found');
  });

  test('nix and nix-daemon are looked for next to a remote-program given as a path', () => {
    assert.equal(nixProgramBeside('/run/current-system/sw/bin/nix-store'), '/run/current-system/sw/bin/nix');
    assert.equal(daemonProgramBeside('/opt/nix/bin/nix-store'), '/opt/nix/bin/nix-daemon');
    assert.equal(nixProgramBeside('nix-store'), 'nix');
  });
});

const noNix = skipWithout(
  spawnSync('nix-store', ['--version']).status === 0 && spawnSync('nix-daemon', ['--version']).status === 0,
  'Nix (nix-store, nix-daemon)',
  'nix-bin',
);
// The local store stands in for a builder's: as root it is opened directly (as a root SSH user's would be).
const notRoot =
  process.getuid?.() === 0 ? false : 'the protocol tests open the local store as a builder would, which needs root';

/** A local process that looks like an ssh2 channel to the protocol code. */
function localChannel(command: string, args: string[]): ClientChannel {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NIX_REMOTE: '' } });
  const channel = new EventEmitter() as EventEmitter & {
    stderr: NodeJS.ReadableStream;
    write(data: Buffer): boolean;
    end(): void;
  };
  child.stdout.on('data', (chunk: Buffer) => channel.emit('data', chunk));
  child.stdout.on('end', () => channel.emit('end'));
  child.on('close', () => channel.emit('close'));
  channel.stderr = child.stderr;
  channel.write = (data: Buffer) => child.stdin.write(data);
  channel.end = () => child.stdin.end();
  return channel as unknown as ClientChannel;
}

describe("Nix protocol greetings against this machine's real Nix", { skip: noNix || notRoot }, () => {
  test('nix-store --serve --write answers the serve greeting', async () => {
    const result = await serveGreeting(localChannel('nix-store', ['--serve', '--write']), 5000);
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.ok ? result.version : '', /^2\.\d+$/);
  });

  test('a login shell that prints first breaks the greeting exactly as Nix reports it; the known noise can be skipped', async () => {
    const noisy = () => localChannel('sh', ['-c', 'echo "Welcome, have a nice day!"; exec nix-store --serve --write']);
    const broken = await serveGreeting(noisy(), 5000);
    assert.equal(broken.ok, false);
    assert.match(!broken.ok ? broken.got : '', /^Welcome/);
    const skipped = await serveGreeting(noisy(), 5000, Buffer.from('Welcome, have a nice day!\n'));
    assert.ok(skipped.ok, JSON.stringify(skipped));
  });

  test('nix-daemon --stdio (root, local store) greets, names its version and trusts root', async () => {
    const result = await workerGreeting(localChannel('nix-daemon', ['--stdio']), 5000);
    assert.ok(result.ok, JSON.stringify(result));
    if (!result.ok) return;
    assert.match(result.protocol, /^1\.\d+$/);
    assert.match(result.nixVersion ?? '', /^2\.\d+/);
    assert.equal(result.trusted, true);
  });

  test('a program that is not Nix is a mismatch, with what it said', async () => {
    const result = await workerGreeting(localChannel('sh', ['-c', 'echo not nix; cat >/dev/null']), 2000);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'mismatch');
    assert.match(!result.ok ? result.got : '', /not nix/);
  });
});
