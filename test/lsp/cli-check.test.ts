// `nix-builders check` as a user runs it: the language server's diagnostics as
// `file:line:col: severity code message`, exit 1 on an error, JSON for programs, and without
// FILE the nix.conf chain Nix itself reads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const cli = join(__dirname, '../../dist/cli.js');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-check-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A nix.conf chain of one nix.conf whose builders is `@` a machines file holding `text`. */
function confIncluding(name: string, text: string): { env: NodeJS.ProcessEnv; confDir: string; machines: string } {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  const machines = join(confDir, name);
  writeFileSync(machines, text);
  writeFileSync(join(confDir, 'nix.conf'), `builders = @${machines}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: confDir, NIX_USER_CONF_FILES: join(confDir, 'none') };
  delete env.NIX_CONFIG;
  return { env, confDir, machines };
}

function check(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [cli, 'check', ...args], { encoding: 'utf8', env });
}

test('an error Nix would print: exit 1 and file:line:col: error code message', () => {
  const file = join(dir, 'machines');
  writeFileSync(file, '# ok\nssh://a x86_64-linux - four\n');
  const result = check([file, '--nix-version', '2.8']);
  assert.equal(result.status, 1);
  assert.match(
    result.stdout,
    new RegExp(`^${file}:2:24: error max-jobs-not-integer .*failed to convert column #3`, 'm'),
  );
  assert.equal(
    result.stderr,
    `Checked ${file} against Nix 2.8.0 (nixBuilders.nixVersion): 1 error(s), 0 warning(s), 0 note(s).\n`,
  );
});

test('only warnings: exit 0, each warning on its line', () => {
  const file = join(dir, 'warn.machines');
  writeFileSync(file, 'ssh://a x86-64-linux - 0\n');
  const result = check([file, '--nix-version', '2.8']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /warn\.machines:1:9: warning unknown-system .*x86_64-linux/);
  assert.match(result.stdout, /warn\.machines:1:24: warning max-jobs-zero /);
});

test('--format json gives every finding with its position', () => {
  const file = join(dir, 'nix.conf');
  writeFileSync(file, 'buidlers = ssh://a\n');
  const result = check([file, '--format', 'json', '--nix-version', '2.8']);
  assert.equal(result.status, 0);
  const output = JSON.parse(result.stdout) as {
    nix: string;
    findings: { code: string; line: number; column: number; severity: string }[];
  };
  assert.equal(output.nix, 'Nix 2.8.0 (nixBuilders.nixVersion)');
  const finding = output.findings.find((f) => f.code === 'unknown-setting');
  assert.ok(finding, result.stdout);
  assert.deepEqual([finding.line, finding.column, finding.severity], [1, 1, 'warning']);
});

test('without FILE it checks the nix.conf chain Nix reads and the machines file builders leads to', () => {
  const { env, machines } = confIncluding('machines', 'ssh://a x86_64-linux - 1 1 - - bad!\n');
  const result = check(['--nix-version', '2.8'], env);
  assert.equal(result.status, 1, result.stdout + result.stderr);
  assert.match(result.stdout, new RegExp(`^${machines}:1:32: error host-key-not-base64 `, 'm'));
});

test('a file that cannot be read is an error that says so', () => {
  const result = check([join(dir, 'missing.machines')]);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /missing\.machines: error unreadable cannot read the file \(ENOENT\)/);
});

test('a bad option exits 2 with the usage', () => {
  const result = check(['--format', 'yaml', join(dir, 'machines')]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--format must be text or json/);
});

test('without FILE the summary names each file it checked, the included machines file too', () => {
  const { env, confDir, machines } = confIncluding('team-machines', 'ssh://a x86_64-linux\n');
  const result = check(['--nix-version', '2.8'], env);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.equal(
    result.stderr,
    `Checked ${join(confDir, 'nix.conf')} and ${machines} (included) against Nix 2.8.0 (nixBuilders.nixVersion): 0 error(s), 0 warning(s), 0 note(s).\n`,
  );
  const json = JSON.parse(check(['--nix-version', '2.8', '--format', 'json'], env).stdout) as {
    checked: string[];
    included: string[];
  };
  assert.deepEqual([json.checked, json.included], [[join(confDir, 'nix.conf')], [machines]]);
});

test('without FILE and with no file at all: the summary names every place it looked', () => {
  const confDir = join(mkdtempSync(join(dir, 'etc-')), 'absent');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NIX_CONF_DIR: confDir,
    NIX_USER_CONF_FILES: join(confDir, 'user.conf'),
  };
  delete env.NIX_CONFIG;
  const result = check(['--nix-version', '2.8'], env);
  assert.match(
    result.stderr,
    new RegExp(
      `^No nix\\.conf and no machines file found \\(looked for ${join(confDir, 'nix.conf')}, ${join(confDir, 'user.conf')}, /etc/nix/machines\\)`,
    ),
  );
});
