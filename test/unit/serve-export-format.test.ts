// The copy back over `nix-store --serve` (dispatch/serveSession.ts) writes, from each path's
// record and NAR, the stream `nix-store --export` would have written; Nix 2.34 no longer
// exports over the protocol. Held here against real Nix: for paths of every kind of content
// (an empty file, one over 1 MiB, nested directories, a symlink, an executable, a .drv with
// references), our bytes are `nix-store --export`'s, byte for byte, and our NAR hash is the one
// the store recorded. The system tier (serve-session.test.ts) runs the session on each builder.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { u64 } from '../../server/src/health/nixProtocol';
import {
  derivationsExport,
  dependenciesFirst,
  exportTrailer,
  nix32,
  regularFileNar,
} from '../../server/src/dispatch/exportStream';
import type { ServePathInfo } from '../../server/src/dispatch/serveSession';

const hasNix = spawnSync('nix-store', ['--version']).status === 0;
const hint = 'comparing with nix-store --export needs Nix: apt-get install -y nix-bin';
if (!hasNix && process.env.CI === 'true') test('Nix is installed', () => assert.fail(hint));
if (!hasNix && process.env.CI !== 'true') console.warn(`\n!!! SKIPPED: ${hint}\n`);

const env = { ...process.env, NIX_CONFIG: 'substituters =' };
const nix = (args: string[]) => execFileSync('nix-store', args, { env, maxBuffer: 64 * 1024 * 1024 });
const text = (args: string[]) => nix(args).toString('utf8').trim();

let dir: string;
const added: Record<string, string> = {};

/** What QueryPathInfos would say of a path: read from the same store with nix-store. */
function infoOf(path: string): ServePathInfo {
  const deriver = text(['--query', '--deriver', path]);
  return {
    path,
    deriver: deriver === 'unknown-deriver' ? '' : deriver,
    references: text(['--query', '--references', path])
      .split('\n')
      .filter((line) => line !== '')
      .sort(),
    narSize: Number(text(['--query', '--size', path])),
    narHash: text(['--query', '--hash', path]),
  };
}

before(() => {
  if (!hasNix) return;
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-export-'));
  const make = (name: string, build: (at: string) => void) => {
    const at = join(dir, name);
    build(at);
    added[name] = text(['--add', at]);
  };
  make('empty', (at) => writeFileSync(at, ''));
  make('large', (at) => writeFileSync(at, randomBytes(1536 * 1024 + 3)));
  make('tree', (at) => {
    mkdirSync(join(at, 'a', 'b', 'c'), { recursive: true });
    mkdirSync(join(at, 'empty-dir'));
    writeFileSync(join(at, 'a', 'b', 'c', 'deep'), 'deep\n');
    writeFileSync(join(at, 'a', 'odd length'), 'x'.repeat(13));
    symlinkSync('a/b/c/deep', join(at, 'link'));
    symlinkSync('/nowhere/at/all', join(at, 'dangling'));
    writeFileSync(join(at, 'run'), '#!/bin/sh\necho hi\n');
    chmodSync(join(at, 'run'), 0o755);
  });
  make('link', (at) => symlinkSync('/bin/sh', at));
  make('exe', (at) => {
    writeFileSync(at, '#!/bin/sh\nexit 0\n');
    chmodSync(at, 0o755);
  });
  const file = join(dir, 'uses.nix');
  writeFileSync(
    file,
    `derivation { name = "uses"; system = "x86_64-linux"; builder = "/bin/sh";
      inputs = [ ${['empty', 'large', 'tree', 'link'].map((name) => `(builtins.storePath ${JSON.stringify(added[name])})`).join(' ')} ]; }`,
  );
  added.drv = execFileSync('nix-instantiate', [file], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  // A chain of derivations: each .drv refers to the ones before and to a source.
  const chainFile = join(dir, 'chain.nix');
  writeFileSync(
    chainFile,
    `let mk = name: deps: derivation { inherit name deps; system = "x86_64-linux"; builder = "/bin/sh"; src = builtins.storePath ${JSON.stringify(added.empty)}; };
       a = mk "chain-a" []; b = mk "chain-b" [ a ]; in mk "chain-c" [ b a ]`,
  );
  added.chainTop = execFileSync('nix-instantiate', [chainFile], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
});

after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the export stream written from serve replies', { skip: !hasNix && hint }, () => {
  for (const name of ['empty', 'large', 'tree', 'link', 'exe', 'drv'])
    test(`${name}: our bytes are nix-store --export's, and the NAR hash is the store's`, () => {
      const path = added[name]!;
      const info = infoOf(path);
      const nar = nix(['--dump', path]);
      assert.equal(nar.length, info.narSize, 'the NAR size frames the NAR');
      assert.equal(`sha256:${nix32(createHash('sha256').update(nar).digest())}`, info.narHash);
      const ours = Buffer.concat([u64(1), nar, exportTrailer(info), u64(0)]);
      assert.ok(ours.equals(nix(['--export', path])), 'byte for byte');
    });

  for (const name of ['empty', 'large', 'exe', 'drv'])
    test(`${name}: a regular file's NAR written here is nix-store --dump's`, () => {
      const path = added[name]!;
      assert.ok(regularFileNar(readFileSync(path), name === 'exe').equals(nix(['--dump', path])));
    });

  test(".drv files: their export written here (no nix-store) is nix-store --export's, byte for byte", async () => {
    const drvs = text(['--query', '--requisites', added.chainTop!])
      .split('\n')
      .filter((path) => path.endsWith('.drv'));
    assert.equal(drvs.length, 3, 'a, b and c');
    for (const drv of drvs) assert.ok((await derivationsExport([drv])).equals(nix(['--export', drv])), drv);
    // All three at once, given in any order: each comes after what it refers to, and Nix imports it.
    const stream = await derivationsExport([...drvs].reverse());
    const imported = execFileSync('nix-store', ['--import'], { env, input: stream }).toString('utf8');
    assert.deepEqual(
      imported.trim().split('\n'),
      drvs,
      'dependencies first, as nix-store --query --requisites lists them',
    );
  });

  test('several paths: each after the paths it refers to, as nix-store --import needs', () => {
    const infos = ['drv', 'tree', 'empty', 'large', 'link'].map((name) => infoOf(added[name]!));
    assert.ok(infos[0]!.references.length === 4, 'the .drv refers to the four others');
    const ordered = dependenciesFirst(infos).map((info) => info.path);
    assert.equal(ordered.length, 5);
    assert.equal(ordered[4], added.drv);
    // And nix-store --import takes the stream in that order.
    const stream = Buffer.concat([
      ...dependenciesFirst(infos).flatMap((info) => [u64(1), nix(['--dump', info.path]), exportTrailer(info)]),
      u64(0),
    ]);
    const imported = execFileSync('nix-store', ['--import'], { env, input: stream }).toString('utf8');
    assert.deepEqual(imported.trim().split('\n'), ordered);
  });
});
