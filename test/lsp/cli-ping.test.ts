// `nix-builders ping` with nothing to ping: it names what it read and where that came from, and
// exits 3 (notChecked), so a script never takes "checked nothing" for "all builders usable".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exitCodes } from '../../server/src/cli/exitCodes';

const cli = join(__dirname, '../../dist/cli.js');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-ping-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function ping(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [cli, 'ping', ...args], { encoding: 'utf8', env });
}

/** An environment whose nix.conf chain is `confText` in a fresh directory (and no user file). */
function confEnv(confText: string | undefined): { env: NodeJS.ProcessEnv; confDir: string } {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  if (confText !== undefined) writeFileSync(join(confDir, 'nix.conf'), confText);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NIX_CONF_DIR: confDir,
    NIX_USER_CONF_FILES: join(confDir, 'user.conf'),
  };
  delete env.NIX_CONFIG;
  return { env, confDir };
}

test('no nix.conf sets builders: ping names the default machines file, that it is the default and whether it exists; exit 3', () => {
  const { env, confDir } = confEnv('max-jobs = 1\n');
  const result = ping([], env);
  assert.equal(result.status, exitCodes.notChecked, result.stderr);
  assert.equal(result.stdout, '');
  // Which /etc/nix/machines this machine has is not ours to set: either wording is right.
  assert.match(
    result.stderr,
    new RegExp(
      `^No machines in /etc/nix/machines(, which does not exist)? \\(Nix's default: builders is not set in ${join(confDir, 'nix.conf')}, ${join(confDir, 'user.conf')}\\): nothing to check\\.\\n$`,
    ),
  );
});

test('a nix.conf whose builders is empty: ping names that file and the setting; exit 3', () => {
  const { env, confDir } = confEnv('builders =\n');
  const result = ping([], env);
  assert.equal(result.status, exitCodes.notChecked, result.stderr);
  assert.equal(result.stderr, `No machines in ${join(confDir, 'nix.conf')} (builders = ): nothing to check.\n`);
});

test('--machines FILE of comments only: ping names the file and the option; exit 3', () => {
  const file = join(dir, 'only-comments');
  writeFileSync(file, '# nothing yet\n');
  const result = ping(['--machines', file]);
  assert.equal(result.status, exitCodes.notChecked);
  assert.equal(result.stderr, `No machines in ${file} (given with --machines): nothing to check.\n`);
});

test('the usage documents exit 3 for nothing to check', () => {
  const result = ping(['--help']);
  assert.match(result.stdout, /3 when\s+one could not be checked at all or there is none to check/);
  assert.match(result.stdout, /3 {2}ping could not check a builder at all .*, or had none to check/);
});
