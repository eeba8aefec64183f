// The build settings sent with a build (dispatch/buildSettings.ts) are the values real Nix reads
// from the same configuration: `nix show-config` (2.8) / `nix config show` (2.20+) of each Nix of
// the lab, over a nix.conf with includes and old names, a user nix.conf and NIX_CONFIG.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { localBuildSettings, type LocalBuildSettings } from '../../server/src/dispatch/buildSettings';
import { nixTarget, type NixTarget } from '../../server/src/context/target';
import { caseDirs } from '../helpers/caseDirs';
import { isolatedEnv, nixCommand, type InstalledNix } from '../helpers/nix';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';

const caseDir = caseDirs('build-settings');

/** The rules of Nix `version` (the settings read do not depend on the rest of the machine). */
const targetFor = (version: string): NixTarget =>
  nixTarget(version, {
    version: undefined,
    versionText: undefined,
    system: 'x86_64-linux',
    daemon: false,
    keyHome: '/home/user',
  });

interface Case {
  name: string;
  conf: string;
  included?: string;
  user?: string;
  nixConfig?: string;
}

const cases: Case[] = [
  { name: 'nothing set', conf: '' },
  {
    name: 'each set',
    conf: 'max-silent-time = 5\ntimeout = 7\nmax-build-log-size = 1024\nkeep-failed = yes\nbuilders-use-substitutes = 1\n',
  },
  { name: 'the old names', conf: 'build-max-silent-time = 9\nbuild-timeout = 3\nbuild-max-log-size = 4\n' },
  { name: 'the last one wins', conf: 'timeout = 1\ntimeout = 2\nkeep-failed = true\nkeep-failed = no\n' },
  {
    name: 'through an include',
    conf: 'max-silent-time = 4\ninclude other.conf\ntimeout = 6\n',
    included: 'max-silent-time = 8\ntimeout = 1\nbuilders-use-substitutes = true\n',
  },
  { name: 'a user nix.conf after the system one', conf: 'timeout = 1\n', user: 'timeout = 11\nkeep-failed = 1\n' },
  { name: 'NIX_CONFIG last', conf: 'timeout = 1\n', nixConfig: 'timeout = 12\nmax-silent-time = +3' },
];

function showConfig(nix: InstalledNix | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<Map<string, string>> {
  const modern = nix !== undefined && !/ 2\.([0-9]|1[0-9])(\.|$)/.test(nix.versionText);
  const args = ['--extra-experimental-features', 'nix-command', ...(modern ? ['config', 'show'] : ['show-config'])];
  return new Promise((resolve, reject) => {
    const [program, argv] = nixCommand('nix', args, nix?.root, cwd);
    execFile(program, argv, { env, cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      const values = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const at = line.indexOf(' = ');
        if (at > 0) values.set(line.slice(0, at), line.slice(at + 3));
      }
      resolve(values);
    });
  });
}

/** Ours in the words `show-config` prints. */
function asNixShowsIt(settings: LocalBuildSettings): Record<string, string> {
  return {
    'max-silent-time': String(settings.maxSilentTime),
    timeout: String(settings.buildTimeout),
    'max-build-log-size': String(settings.maxLogSize),
    'keep-failed': String(settings.keepFailed),
    'builders-use-substitutes': String(settings.useSubstitutes),
  };
}

const installed = requireRealNix('the build settings are read as Nix reads them');
const nixes: (InstalledNix | undefined)[] =
  installed === undefined ? [] : [undefined, ...requireLabNixes('the build settings are read as Nix reads them')];

for (const nix of nixes) {
  const label = nix?.versionText ?? installed!.versionText;
  test(`${label}: the build settings are the values Nix shows for the same configuration`, async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const dir = caseDir();
      writeFileSync(join(dir, 'nix.conf'), `substituters =\n${c.conf}`);
      if (c.included !== undefined) writeFileSync(join(dir, 'other.conf'), c.included);
      const env = isolatedEnv(dir);
      if (c.user !== undefined) {
        writeFileSync(join(dir, 'user.conf'), c.user);
        env.NIX_USER_CONF_FILES = join(dir, 'user.conf');
      }
      if (c.nixConfig !== undefined) env.NIX_CONFIG = c.nixConfig;
      const theirs = await showConfig(nix, env, dir);
      const version = label.replace(/^.* /, '');
      const ours = asNixShowsIt(localBuildSettings(targetFor(version), env));
      for (const [name, value] of Object.entries(ours))
        if (theirs.get(name) !== value)
          failures.push(`${c.name}: ${name} is ${theirs.get(name)} for Nix, ${value} for us`);
    }
    assert.deepEqual(failures, []);
  });
}

test('a value Nix refuses leaves the setting as it was (Nix itself would not start)', () => {
  const dir = caseDir();
  writeFileSync(join(dir, 'nix.conf'), 'timeout = 4\ntimeout = soon\nkeep-failed = maybe\n');
  const env = isolatedEnv(dir);
  const settings = localBuildSettings(targetFor('2.8'), env);
  assert.equal(settings.buildTimeout, 4);
  assert.equal(settings.keepFailed, false);
});
