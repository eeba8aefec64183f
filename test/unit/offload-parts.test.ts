// The pure parts of the offload and the distributed build: which nix-store runs on a builder,
// stripping a login shell's greeting from a binary stream, the causes and messages of failures (Nix 2.8's own messages),
// and Nix's internal-json log. The system tier (test/system/offload.test.ts) runs them for real.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { NixLogFollower, parseNixLogLine, type BuildProgress } from '../../server/src/dispatch/nixInternalLog';
import {
  classifyFailure,
  errorLine,
  sshFailureCause,
  type FailedCommand,
} from '../../server/src/dispatch/offloadCauses';
import { nixStoreCommand, remoteNixStore } from '../../server/src/dispatch/remoteNixStore';
import { ByteCounter, formatBytes, LineSplitter } from '../../server/src/dispatch/streamParts';

describe('remoteNixStore', () => {
  test('ssh:// runs nix-store, ssh-ng:// too (next to its nix-daemon)', () => {
    assert.deepEqual(nixStoreCommand(remoteNixStore('ssh://builder')), ['nix-store']);
    assert.deepEqual(nixStoreCommand(remoteNixStore('ssh-ng://nix@builder')), ['nix-store']);
    assert.equal(remoteNixStore('builder').protocol, 'ssh');
    assert.equal(remoteNixStore('ssh-ng://builder').protocol, 'ssh-ng');
  });

  test('remote-program: ssh:// uses it as nix-store, ssh-ng:// takes nix-store from its directory', () => {
    assert.deepEqual(
      nixStoreCommand(remoteNixStore('ssh://b?remote-program=/nix/var/nix/profiles/default/bin/nix-store')),
      ['/nix/var/nix/profiles/default/bin/nix-store'],
    );
    assert.deepEqual(
      nixStoreCommand(remoteNixStore('ssh-ng://b?remote-program=/run/current-system/sw/bin/nix-daemon')),
      ['/run/current-system/sw/bin/nix-store'],
    );
    assert.deepEqual(nixStoreCommand(remoteNixStore('ssh-ng://b?remote-program=nix-daemon')), ['nix-store']);
  });

  test('remote-store becomes --store (URL-decoded)', () => {
    assert.deepEqual(nixStoreCommand(remoteNixStore('ssh://b?remote-store=%2Fmnt%2Fstore&compress=true')), [
      'nix-store',
      '--store',
      '/mnt/store',
    ]);
    assert.deepEqual(
      nixStoreCommand(remoteNixStore('ssh-ng://b?remote-store=daemon&remote-program=/x/bin/nix-daemon')),
      ['/x/bin/nix-store', '--store', 'daemon'],
    );
  });
});

describe('ByteCounter', () => {
  const pieces = async (batchBytes: number, sizes: number[]) => {
    const counter = new ByteCounter(batchBytes);
    let next = 0;
    const input = sizes.map((size) => Buffer.from(Array.from({ length: size }, () => next++ % 256)));
    // As a pipe hands them on ('data' events), not as an iterator reads them (joined).
    const out: Buffer[] = [];
    counter.on('data', (chunk: Buffer) => out.push(chunk));
    Readable.from(input).pipe(counter);
    await new Promise((resolve) => counter.on('end', resolve));
    return { out, counter, input: Buffer.concat(input) };
  };

  test('with a batch size: the same bytes in order, in pieces of at least that size but the last', async () => {
    const { out, counter, input } = await pieces(100, [30, 30, 30, 30, 250, 10, 5]);
    assert.deepEqual(
      out.map((chunk) => chunk.length),
      [120, 250, 15],
    );
    assert.ok(Buffer.concat(out).equals(input));
    assert.equal(counter.bytes, 385);
  });

  test('without one: every piece as it came; nothing at all is nothing', async () => {
    const { out, counter } = await pieces(0, [3, 4]);
    assert.deepEqual(
      out.map((chunk) => chunk.length),
      [3, 4],
    );
    assert.equal(counter.bytes, 7);
    assert.deepEqual((await pieces(100, [])).out, []);
  });
});

test('LineSplitter: lines across chunks, CRLF, a last line without newline', () => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  splitter.push(Buffer.from('one\ntw'));
  splitter.push(Buffer.from('o\r\nthr'));
  splitter.push(Buffer.from([0xc3]));
  splitter.push(Buffer.from([0xa9, 0x0a]));
  splitter.push('four');
  splitter.flush();
  assert.deepEqual(lines, ['one', 'two', 'thré', 'four']);
});

test('formatBytes', () => {
  assert.equal(formatBytes(12), '12 B');
  assert.equal(formatBytes(1.2 * 1024 * 1024), '1.2 MiB');
  assert.equal(formatBytes(340 * 1024), '340 KiB');
});

describe('failure causes from what Nix 2.8 prints', () => {
  const base: FailedCommand = {
    side: 'builder',
    phase: 'copy-inputs',
    builder: 'ssh://b',
    user: 'nix',
    code: 1,
    signal: null,
    stderrTail: [],
  };
  const classify = (extra: Partial<FailedCommand>) => classifyFailure({ ...base, ...extra });

  test('an untrusted user: unsigned paths refused, or no privilege to build', () => {
    const refused = classify({
      stderrTail: ["error: cannot add path '/nix/store/x-a.drv' because it lacks a valid signature"],
    });
    assert.equal(refused.cause, 'untrusted-user');
    assert.match(refused.message, /ssh:\/\/b does not trust the SSH user 'nix'/);
    assert.match(refused.message, /extra-trusted-users = nix/);
    assert.equal(
      classify({ phase: 'build', stderrTail: ['error: you are not privileged to build input-addressed derivations'] })
        .cause,
      'untrusted-user',
    );
  });

  test('our store refusing the outputs: missing-signature, with the fix for a daemon', () => {
    const local = classify({
      side: 'local',
      phase: 'copy-outputs',
      daemon: true,
      stderrTail: ["error: cannot add path '/nix/store/x-out' because it lacks a valid signature"],
    });
    assert.equal(local.cause, 'missing-signature');
    assert.match(local.message, /trusted-users in \/etc\/nix\/nix.conf here/);
    assert.match(local.message, /trusted-public-keys/);
  });

  test('disk full, on either side', () => {
    const remote = classify({ phase: 'build', stderrTail: ['error: writing to file: No space left on device'] });
    assert.equal(remote.cause, 'disk-full');
    assert.match(remote.message, /on ssh:\/\/b while building.*nix-collect-garbage on ssh:\/\/b/);
    assert.equal(
      classify({ side: 'local', phase: 'copy-outputs', stderrTail: ['error: No space left on device'] }).cause,
      'disk-full',
    );
  });

  test('a failed build quotes Nix, and a build for the wrong platform is a failed build too', () => {
    const failed = classify({
      phase: 'build',
      stderrTail: [
        "building '/nix/store/x-c.drv'...",
        "error: builder for '/nix/store/x-c.drv' failed with exit code 3;",
        '       last 2 log lines:',
      ],
    });
    assert.equal(failed.cause, 'build-failed');
    assert.equal(
      failed.message,
      "The build failed on ssh://b: builder for '/nix/store/x-c.drv' failed with exit code 3. The last lines of its log are below.",
    );
    const platform = classify({
      phase: 'build',
      stderrTail: [
        "error: a 'aarch64-linux' with features {} is required to build '/nix/store/x.drv', but I am a 'x86_64-linux' with features {kvm}",
      ],
    });
    assert.equal(platform.cause, 'build-failed');
    assert.match(platform.message, /ssh:\/\/b cannot build this derivation/);
    // Nix 2.30+ on the builder: `Cannot build '…'.` and the reason on the next line (2.34 splits it).
    for (const reason of ['required system or feature not available', 'platform mismatch', 'missing system features']) {
      const newer = classify({
        code: 1,
        phase: 'build',
        stderrTail: [
          "error: Cannot build '/nix/store/x.drv'.",
          `       Reason: ${reason}`,
          "       Required system: 'aarch64-linux'",
        ],
      });
      assert.equal(newer.cause, 'build-failed', reason);
      // The reason and the system lines Nix prints below it are quoted too.
      assert.equal(
        newer.message,
        `ssh://b cannot build this derivation: Cannot build '/nix/store/x.drv': ${reason} (Required system: 'aarch64-linux'). Pick a builder whose Nix builds for that system and has those features (its system and system-features settings).`,
      );
    }
  });

  test('Nix missing on the remote PATH, its daemon down, anything else from nix-store', () => {
    const missing = classify({ code: 127, stderrTail: ['bash: line 1: nix-store: command not found'] });
    assert.equal(missing.cause, 'remote-nix');
    assert.match(missing.message, /remote-program/);
    const down = classify({
      stderrTail: ["error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused"],
    });
    assert.equal(down.cause, 'remote-nix');
    assert.match(down.message, /nix-daemon on ssh:\/\/b is not running/);
    assert.equal(classify({ stderrTail: ['error: something else'] }).cause, 'remote-nix');
    assert.equal(classify({ side: 'local', stderrTail: ['error: something else'] }).cause, 'local-store');
  });

  test('a dropped connection: connection-lost, with what the builder did when known', () => {
    const dropped = classify({ code: null, lost: true });
    assert.equal(dropped.cause, 'connection-lost');
    assert.match(
      dropped.message,
      /^Lost the connection to ssh:\/\/b while copying the build inputs to the builder: it closed the session without an exit status\. /,
    );
    const silent = classify({
      code: null,
      lost: true,
      lostBecause: 'stopped answering (no reply to 3 keepalives 5 s apart)',
    });
    assert.match(
      silent.message,
      /it stopped answering \(no reply to 3 keepalives 5 s apart\)\. No path is left half-copied/,
    );
    assert.match(silent.message, /then build again/);
  });

  test('errorLine: the first error line, else the last line', () => {
    assert.equal(errorLine(['a', 'error: boom;', 'error: later']), 'boom');
    assert.equal(errorLine(['a', 'last', '']), 'last');
  });

  test('SSH failures: host key, auth, cancel, the rest', () => {
    assert.equal(sshFailureCause({ code: 'host-key-mismatch', cause: 'x', fix: 'y' }, 'ssh://b').cause, 'host-key');
    assert.match(
      sshFailureCause({ code: 'host-key-unknown', cause: 'x', fix: 'y' }, 'ssh://b').message,
      /^Nothing was built or sent/,
    );
    assert.equal(sshFailureCause({ code: 'key-encrypted', cause: 'x', fix: 'y' }, 'ssh://b').cause, 'auth');
    assert.equal(sshFailureCause({ code: 'aborted', cause: 'x', fix: '' }, 'ssh://b').cause, 'cancelled');
    assert.equal(sshFailureCause({ code: 'connection-refused', cause: 'x', fix: 'y' }, 'ssh://b').cause, 'connection');
  });
});

describe("Nix's internal-json log", () => {
  // As nix-build 2.8 prints it for a graph spread over ssh:// and ssh-ng:// builders (trimmed).
  const drvL = '/nix/store/9mnirlyf60b63a7xdwn6xvzj884h28w4-g-left.drv';
  const drvR = '/nix/store/yli6xcimdfg674w6gczavc5nk6whvz3x-g-right.drv';
  const lines = [
    '@nix {"action":"msg","level":3,"msg":"these 2 derivations will be built:"}',
    '@nix {"action":"start","id":73,"level":0,"text":"","type":102}',
    '@nix {"action":"start","id":74,"level":0,"text":"","type":104}',
    '@nix {"action":"result","fields":[0,2,0,0],"id":74,"type":105}',
    '@nix {"action":"start","id":77,"level":4,"text":"connecting to \'ssh://a\'","type":0}',
    `@nix {"action":"start","fields":["${drvL}","ssh://a",1,1],"id":78,"level":3,"text":"building '${drvL}' on 'ssh://a'","type":105}`,
    '@nix {"action":"result","fields":[0,2,1,0],"id":74,"type":105}',
    `@nix {"action":"start","fields":["${drvR}","ssh-ng://b",1,1],"id":80,"level":3,"text":"building '${drvR}' on 'ssh-ng://b'","type":105}`,
    '@nix {"action":"result","fields":[0,2,2,0],"id":74,"type":105}',
    '@nix {"action":"result","fields":["left on a"],"id":78,"type":101}',
    // The ssh-ng builder's own activities, forwarded: another counter, a build without a machine.
    '@nix {"action":"start","id":88,"level":0,"text":"","type":104}',
    '@nix {"action":"result","fields":[0,1,0,0],"id":88,"type":105}',
    `@nix {"action":"start","fields":["${drvR}","",1,1],"id":91,"level":3,"text":"building '${drvR}'","type":105}`,
    '@nix {"action":"result","fields":["right"],"id":91,"type":101}',
    '@nix {"action":"stop","id":78}',
    '@nix {"action":"result","fields":[1,2,1,0],"id":74,"type":105}',
    '@nix {"action":"stop","id":80}',
    '@nix {"action":"result","fields":[2,2,0,0],"id":74,"type":105}',
    '@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m something"}',
    'a plain line',
  ];

  test('progress from the first builds counter, where each derivation went, the lines people read', () => {
    const shown: string[] = [];
    const progress: BuildProgress[] = [];
    const follower = new NixLogFollower(
      (line) => shown.push(line),
      (p) => progress.push(p),
    );
    for (const line of lines) follower.push(line);
    assert.deepEqual(follower.builtOn, { [drvL]: 'ssh://a', [drvR]: 'ssh-ng://b' });
    assert.deepEqual(progress[progress.length - 1], { done: 2, expected: 2, running: 0 });
    assert.ok(progress.some((p) => p.running === 2 && p.current === 'g-right.drv'));
    assert.ok(!progress.some((p) => p.expected === 1), 'the forwarded counter of the ssh-ng builder is not ours');
    assert.deepEqual(shown, [
      'these 2 derivations will be built:',
      `building '${drvL}' on 'ssh://a'`,
      `building '${drvR}' on 'ssh-ng://b'`,
      'left on a',
      `building '${drvR}'`,
      'right',
      '\u001b[31;1merror:\u001b[0m something',
      'a plain line',
    ]);
    assert.equal(follower.errors.length, 1);
  });

  test('parseNixLogLine: plain lines and broken JSON are not events', () => {
    assert.equal(parseNixLogLine('building x'), undefined);
    assert.equal(parseNixLogLine('@nix {not json'), undefined);
    assert.deepEqual(parseNixLogLine('@nix {"action":"stop","id":5}'), { action: 'stop', id: 5 });
  });
});
