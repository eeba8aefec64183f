// The `nix-builders` bin as a user runs it: every input checked before anything runs (usage
// errors exit 2 as `nix-builders: <what is wrong>. <what to do>`), nothing from a file reaching
// the terminal as a control sequence, and no success when nothing could be checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import manifest from '../../package.json';

const cli = join(__dirname, '../../dist/cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A usage error: exit 2, one `nix-builders: … . …` line on stderr, nothing run. */
function assertUsageError(result: ReturnType<typeof run>, pattern: RegExp) {
  assert.equal(result.status, 2, `exit ${result.status}\n${result.stdout}${result.stderr}`);
  assert.match(result.stderr, /^nix-builders: [^\n]+\. [^\n]+/);
  assert.match(result.stderr, pattern);
}

test('nix-builders --help prints the usage with every subcommand and the exit codes', () => {
  const result = run('--help');
  assert.equal(result.status, 0);
  for (const word of ['check', 'ping', 'select', 'build'])
    assert.match(result.stdout, new RegExp(`nix-builders ${word}`));
  assert.match(result.stdout, /Exit codes:/);
  for (const code of ['0', '1', '2', '3']) assert.match(result.stdout, new RegExp(`^ +${code} `, 'm'));
});

test('nix-builders --version prints the package version', () => {
  const result = run('--version');
  assert.equal(result.status, 0);
  assert.equal(result.stdout.trim(), manifest.version);
});

test('an unknown subcommand exits 2, says so and lists the subcommands', () => {
  const result = run('frob');
  assertUsageError(result, /unknown subcommand 'frob'/);
  assert.match(result.stderr, /check, ping, select, build/);
});

for (const timeout of ['1e9', 'Infinity', '0', '-1', 'abc', '3601', '']) {
  test(`--timeout '${timeout}' is refused before anything is probed`, () => {
    const result = run('ping', '--builders', 'ssh://127.0.0.1:9 x86_64-linux', '--timeout', timeout);
    assertUsageError(result, /--timeout/);
    assert.equal(result.stdout, '');
  });
}

test('--timeout=-1 is refused too', () => {
  assertUsageError(run('ping', '--builders', 'ssh://127.0.0.1:9 x86_64-linux', '--timeout=-1'), /--timeout/);
});

for (const version of ['banana', '3.0', '1.11', '2', '2.8.0.1', '2.x']) {
  test(`--nix-version '${version}' is refused with the accepted form`, () => {
    const result = run('check', join(dir, 'none.machines'), '--nix-version', version);
    assertUsageError(result, /--nix-version.*2\.8/);
  });
}

test('--nix-version 2.24 and 2.8.1 are taken', () => {
  const file = join(dir, 'ok.machines');
  writeFileSync(file, 'ssh://a x86_64-linux - 1\n');
  assert.equal(run('check', file, '--nix-version', '2.24').status, 0);
  assert.equal(run('check', file, '--nix-version', '2.8.1').status, 0);
});

test('conflicting, repeated and foreign options are refused with the subcommand usage', () => {
  assertUsageError(run('ping', '--machines', join(dir, 'm'), '--builders', 'ssh://a'), /--machines.*--builders/);
  assertUsageError(run('build', join(dir, 'x.nix'), '--on', 'a', '--distributed'), /--on.*--distributed/);
  assertUsageError(run('ping', '--timeout', '5', '--timeout', '6'), /--timeout.*more than once/);
  const foreign = run('check', '--timeout', '5');
  assertUsageError(foreign, /check does not take --timeout/);
  assert.match(foreign.stderr, /nix-builders check \[FILE\.\.\.\]/);
  assert.doesNotMatch(foreign.stderr, /nix-builders ping/);
  assertUsageError(run('select', '--system', 'x86_64-linux', '--on', 'a'), /select does not take --on/);
  assertUsageError(run('ping', 'extra'), /ping takes no FILE/);
  assertUsageError(run('check', '--frob'), /unknown option '--frob'/);
  assertUsageError(run('check', '--format', 'yaml'), /--format must be text or json/);
  assertUsageError(run('build', 'a.nix', 'b.nix'), /build takes one FILE/);
  assertUsageError(run('build'), /build needs a FILE/);
  assertUsageError(run('select'), /select needs --system/);
  assertUsageError(run('--timeout', '5'), /without a subcommand/);
  assertUsageError(run('ping', '--builders', ''), /--builders is given an empty value/);
  assertUsageError(run('build', 'a.nix', '--distributed=yes'), /--distributed takes no value/);
});

test("-h after a subcommand prints that subcommand's usage", () => {
  const result = run('ping', '--help');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /nix-builders ping /);
  assert.doesNotMatch(result.stdout, /nix-builders check /);
  assert.match(result.stdout, /Exit codes:/);
});

test('--machines with a file that cannot be read says which and exits 2', () => {
  assertUsageError(run('ping', '--machines', join(dir, 'missing')), /cannot read .*missing \(ENOENT\)/);
});

/** Every control character a file could smuggle: C0 but \n and \t, DEL, C1 (as UTF-8), and bidi overrides. */
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const rawControlBytes = (text: string) =>
  [...Buffer.from(text, 'utf8')].some((b) => (b < 0x20 && b !== 0x0a && b !== 0x09) || b === 0x7f);

test('check of a file with ESC ]0;pwned BEL and other controls prints none of them raw', () => {
  const file = join(dir, 'evil.machines');
  writeFileSync(
    file,
    [
      // Nix splits entries at ';': each half is echoed in a finding of its own.
      'ssh://a x86_64-linux - \u001b]0;pwned\u0007 x86_64-linux - four',
      'ssh://b x86\u009b31m-linux - 1',
      'ssh://c\u0001\u007f x86_64-linux - four\r',
      'ssh://d x86_64-linux - 1 1 - - \u001b[2J\u0000',
      'ssh://e\u202eetouq x86_64-linux - four',
      '',
    ].join('\n'),
  );
  for (const format of ['text', 'json']) {
    const result = run('check', file, '--nix-version', '2.8', '--format', format);
    assert.equal(result.status, 1, result.stderr);
    const all = result.stdout + result.stderr;
    assert.ok(all.includes('pwned'), all);
    assert.ok(
      !controls.test(all) && !rawControlBytes(all),
      `raw control characters in the ${format} output: ${JSON.stringify(all)}`,
    );
    assert.match(all, /\\u001b\]0/);
    assert.match(all, /pwned\\u0007/);
    assert.match(all, /e\\u202eetouq/);
    if (format === 'json') {
      const json = JSON.parse(result.stdout) as { findings: { message: string }[] };
      // Still the same text once decoded: the escapes are JSON's own.
      assert.ok(
        json.findings.some((f) => f.message.includes('pwned\u0007')),
        result.stdout,
      );
      assert.ok(
        json.findings.some((f) => f.message.includes('x86\u009b31m-linux')),
        result.stdout,
      );
    }
  }
});

test('ping of a builder behind a ProxyCommand, which the probe cannot check: exit 3, said so', () => {
  const sshConfig = join(dir, 'ssh_config');
  // Loopback, a port where nothing listens, and a command that is never run.
  writeFileSync(sshConfig, 'Host behind-proxy\n  HostName 127.0.0.1\n  Port 9\n  ProxyCommand false %h %p\n');
  const result = run('ping', '--builders', 'ssh://behind-proxy x86_64-linux', '--ssh-config', sshConfig);
  assert.equal(result.status, 3, result.stdout + result.stderr);
  assert.match(result.stdout, /behind-proxy  not checked/);
  assert.match(result.stderr, /0\/1 builders usable, 1 not checked/);
  const json = run(
    'ping',
    '--builders',
    'ssh://behind-proxy x86_64-linux',
    '--ssh-config',
    sshConfig,
    '--format',
    'json',
  );
  assert.equal(json.status, 3);
  const [machine] = JSON.parse(json.stdout) as { checked: boolean; findings: { code: string }[] }[];
  assert.equal(machine!.checked, false);
  assert.ok(machine!.findings.some((f) => f.code === 'proxy-command-unsupported'));
});
