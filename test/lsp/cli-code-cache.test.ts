// `nix-builders` loads its bundle with V8's code cache (server/src/cliLauncher.ts): the second
// start uses what the first wrote, and the cache never changes what runs. V8 itself accepts
// cached data for any source of the same length, so these tests change the bundle without
// changing its length and check that the new code runs; they give the cache folder to another
// user, or make it group-writable, and check that it is not used. NIX_BUILDERS_TRACE=1 makes
// the launcher say what it did.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tracedPhases } from '../../server/src/context/timingTrace';

const dist = join(__dirname, '../../dist');
let dir: string;
let machines: string;
before(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'nix-builders-code-cache-'));
  machines = join(dir, 'machines');
  fs.writeFileSync(machines, 'ssh://a x86_64-linux - four\n');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of dist's CLI (launcher and bundle) that a test may change. */
function cliCopy(name: string): string {
  const copy = join(dir, name);
  fs.mkdirSync(copy);
  for (const file of ['cli.js', 'cli-main.js']) fs.copyFileSync(join(dist, file), join(copy, file));
  return join(copy, 'cli.js');
}

function run(cli: string, cache: string, args = ['check', machines, '--nix-version', '2.8']) {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache, NIX_BUILDERS_TRACE: '1' };
  delete env.NIX_BUILDERS_CODE_CACHE;
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  const said = tracedPhases(result.stderr)
    .map((traced) => traced.phase)
    .filter((phase) => phase.startsWith('code cache: '))
    .map((phase) => phase.slice('code cache: '.length));
  return { status: result.status, stdout: result.stdout, said };
}

const cacheFiles = (cache: string) => fs.readdirSync(join(cache, 'nix-builders', 'code-cache'));

test('the first run writes the cache, the next ones use it, and the output is the same', () => {
  const cache = join(dir, 'cache-1');
  const cli = join(dist, 'cli.js');
  const first = run(cli, cache);
  const second = run(cli, cache);
  const third = run(cli, cache);
  assert.deepEqual(first.said, ['written']);
  assert.deepEqual(second.said, ['used']);
  assert.deepEqual(third.said, ['used']);
  assert.equal(first.status, 1, first.stdout);
  assert.match(first.stdout, /max-jobs-not-integer/);
  for (const later of [second, third]) {
    assert.equal(later.status, first.status);
    assert.equal(later.stdout, first.stdout);
  }
  // Only this user may read or write it.
  const folder = join(cache, 'nix-builders', 'code-cache');
  assert.equal(fs.statSync(folder).mode & 0o777, 0o700);
  for (const name of cacheFiles(cache)) assert.equal(fs.statSync(join(folder, name)).mode & 0o777, 0o600);
});

test('each subcommand has its own cache: --version does not reuse the check one', () => {
  const cache = join(dir, 'cache-sub');
  const cli = join(dist, 'cli.js');
  assert.deepEqual(run(cli, cache).said, ['written']);
  const version = run(cli, cache, ['--version']);
  assert.deepEqual(version.said, ['written']);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.deepEqual(run(cli, cache, ['--version']).said, ['used']);
  assert.equal(cacheFiles(cache).length, 2);
});

test('a bundle changed without changing its length runs the new code, never the cached one', () => {
  const cache = join(dir, 'cache-2');
  const cli = cliCopy('changed');
  const bundle = join(dir, 'changed', 'cli-main.js');
  assert.deepEqual(run(cli, cache).said, ['written']);
  const before = fs.readFileSync(bundle, 'utf8');
  const said = 'Nix rejects this entry';
  const instead = 'NIX REJECTS THIS ENTRY';
  assert.ok(before.includes(said));
  fs.writeFileSync(bundle, before.replaceAll(said, instead));
  assert.equal(fs.statSync(bundle).size, Buffer.byteLength(before));
  const after = run(cli, cache);
  assert.deepEqual(after.said, ['written'], 'the cache of the old bundle was used for the new one');
  assert.match(after.stdout, /error max-jobs-not-integer NIX REJECTS THIS ENTRY/);
  // The old bundle's cache is gone: the folder holds only what the new one can use.
  assert.equal(cacheFiles(cache).length, 1);
  assert.deepEqual(run(cli, cache).said, ['used']);
});

test('a corrupt cache file is rejected by V8 and the CLI runs as without it', () => {
  const cache = join(dir, 'cache-3');
  const cli = join(dist, 'cli.js');
  const first = run(cli, cache);
  const folder = join(cache, 'nix-builders', 'code-cache');
  for (const name of cacheFiles(cache)) fs.writeFileSync(join(folder, name), Buffer.alloc(4096, 0x5a));
  const corrupt = run(cli, cache);
  assert.deepEqual(corrupt.said, ['rejected', 'written']);
  assert.equal(corrupt.stdout, first.stdout);
  assert.deepEqual(run(cli, cache).said, ['used']);
});

test('a cache folder others may write is not used', () => {
  const cache = join(dir, 'cache-4');
  const cli = join(dist, 'cli.js');
  const first = run(cli, cache);
  fs.chmodSync(join(cache, 'nix-builders', 'code-cache'), 0o770);
  const shared = run(cli, cache);
  assert.deepEqual(shared.said, ['not used (its folder is not this user’s alone)']);
  assert.equal(shared.stdout, first.stdout);
});

test('a cache another user owns is not used (sudo with the user’s HOME)', { skip: process.getuid?.() !== 0 }, () => {
  const cache = join(dir, 'cache-5');
  const cli = join(dist, 'cli.js');
  const first = run(cli, cache);
  const folder = join(cache, 'nix-builders', 'code-cache');
  for (const name of cacheFiles(cache)) fs.chownSync(join(folder, name), 65534, 65534);
  // Not read; replaced by one of ours (the folder is ours, so nobody else can swap it back).
  assert.deepEqual(run(cli, cache).said, ['not used (the file is not this user’s alone)', 'written']);
  for (const name of cacheFiles(cache)) fs.chownSync(join(folder, name), 65534, 65534);
  fs.chownSync(folder, 65534, 65534);
  const theirs = run(cli, cache);
  assert.deepEqual(theirs.said, ['not used (its folder is not this user’s alone)']);
  assert.equal(theirs.stdout, first.stdout);
});

test('NIX_BUILDERS_CODE_CACHE=0: no cache at all; a relative XDG_CACHE_HOME is ignored for ~/.cache', () => {
  const cli = join(dist, 'cli.js');
  const off = spawnSync(process.execPath, [cli, '--version'], {
    encoding: 'utf8',
    env: { ...process.env, NIX_BUILDERS_TRACE: '1', NIX_BUILDERS_CODE_CACHE: '0', XDG_CACHE_HOME: join(dir, 'c6') },
  });
  assert.equal(off.status, 0);
  assert.doesNotMatch(off.stderr, /code cache/);
  assert.equal(fs.existsSync(join(dir, 'c6')), false);
  const home = join(dir, 'home');
  fs.mkdirSync(home);
  const relative = spawnSync(process.execPath, [cli, '--version'], {
    encoding: 'utf8',
    cwd: dir,
    env: { ...process.env, NIX_BUILDERS_TRACE: '1', XDG_CACHE_HOME: 'relative-cache', HOME: home },
  });
  assert.match(relative.stderr, /code cache: written/);
  assert.equal(fs.existsSync(join(dir, 'relative-cache')), false);
  assert.equal(cacheFiles(join(home, '.cache')).length, 1);
});
