// The troubleshooting log (server/src/context/log.ts): a command's line says how it ended, its
// stderr is kept at info when it failed and at debug when it did not, and a private key block
// never leaves, whatever text carried it.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { endedAs, log, logCommand, setLogSink, withoutSecrets, type LogLevel } from '../../server/src/context/log';

const lines: { level: LogLevel; text: string }[] = [];
setLogSink((level, text) => lines.push({ level, text }));
afterEach(() => {
  lines.length = 0;
});

test('a failed command: its line with the exit status, and its stderr at info', () => {
  logCommand('ssh nix@b', 'nix-store --version', { code: 127, stderr: 'sh: nix-store: not found\n', ms: 12 });
  assert.deepEqual(lines, [
    { level: 'info', text: 'ssh nix@b: nix-store --version → exit 127 (12 ms)' },
    { level: 'info', text: 'ssh nix@b: stderr of nix-store:\n    sh: nix-store: not found' },
  ]);
});

test('a command that succeeded: its stderr only at debug', () => {
  logCommand('local', 'ssh -G b', { code: 0, stderr: 'warning: x\n' });
  assert.deepEqual(
    lines.map((l) => l.level),
    ['info', 'debug'],
  );
});

test('how a command ended, in words', () => {
  assert.equal(endedAs({ code: 0 }), 'exit 0');
  assert.equal(endedAs({ code: null, signal: 'SIGTERM' }), 'killed by SIGTERM');
  assert.equal(endedAs({ code: null, timedOut: true }), 'timed out');
  assert.equal(endedAs({ code: null, aborted: true }), 'cancelled');
  assert.equal(endedAs({ code: null, error: 'spawn nix ENOENT' }), 'failed: spawn nix ENOENT');
});

test('a script is shown on one line', () => {
  logCommand('ssh nix@b', "/bin/sh -c 'a\nb'", { code: 0 });
  assert.equal(lines[0]!.text, "ssh nix@b: /bin/sh -c 'a ⏎ b' → exit 0");
});

test('a long command line is cut, saying how long it was', () => {
  logCommand('local', `nix-instantiate -E ${'x'.repeat(1000)}`, { code: 0 });
  assert.match(lines[0]!.text, /^local: nix-instantiate -E x+… \(1019 characters\) → exit 0$/);
});

test('a private key block is cut out of any line, even one cut short', () => {
  const key =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHI=\n-----END OPENSSH PRIVATE KEY-----';
  log.info(`cat said:\n${key}\nand more`);
  assert.equal(lines[0]!.text, 'cat said:\n[a private key, not shown]\nand more');
  assert.equal(withoutSecrets('-----BEGIN RSA PRIVATE KEY-----\nMIIEow'), '[a private key, not shown]');
  assert.equal(withoutSecrets('ssh-ed25519 AAAAC3Nza public'), 'ssh-ed25519 AAAAC3Nza public');
});

test('a sink that throws never stops the work', () => {
  setLogSink(() => {
    throw new Error('closed');
  });
  assert.doesNotThrow(() => log.warn('x'));
  setLogSink((level, text) => lines.push({ level, text }));
});
