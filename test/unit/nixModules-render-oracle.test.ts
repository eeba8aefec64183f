// The machines line we render for each `nix.buildMachines` entry, held against real Nix
// evaluating the same entries with the module's rule written in Nix
// (test/fixtures/nixModules/renderMachines.nix): `toString` of ints and floats, joined lists,
// defaults, `null` protocol, escapes in strings. On the machine's Nix and the version lab's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseNixVersion } from '../../server/src/model/nixVersion';
import { findDeclarations } from '../../server/src/nixModules/declarations';
import { renderEntry } from '../../server/src/nixModules/renderedLine';
import { caseDirs } from '../helpers/caseDirs';
import { isolatedEnv, nixCommand, type InstalledNix } from '../helpers/nix';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';

const fixtures = path.join(__dirname, '../fixtures/nixModules');

/** The seeds' entries (the NixOS wiki's, the blog post's) as written there, comments and all. */
const seedEntries = ['wiki-distributed-build.nix', 'blog-remote-builders.nix'].flatMap((name) => {
  const text = fs.readFileSync(path.join(fixtures, name), 'utf8');
  return findDeclarations(text).buildMachines.flatMap((setting) =>
    setting.entries.map((entry) => text.slice(entry.span.start, entry.span.end)),
  );
});

/** Entries as people write them, each a literal the renderer must read exactly as Nix does. */
const literalEntries = [
  ...seedEntries,
  // `system` wins over `systems`; mandatory features are added to the supported ones.
  '{ hostName = "b"; system = "aarch64-linux"; systems = [ "x86_64-linux" ]; supportedFeatures = [ "kvm" ]; mandatoryFeatures = [ "big-parallel" ]; }',
  // Floats: C's %f, whatever the literal's shape.
  '{ hostName = "f1"; systems = [ "x86_64-linux" ]; speedFactor = 1.5; }',
  '{ hostName = "f2"; systems = [ "x86_64-linux" ]; speedFactor = 0.1; }',
  '{ hostName = "f3"; systems = [ "x86_64-linux" ]; speedFactor = 2.0; }',
  '{ hostName = "f4"; systems = [ "x86_64-linux" ]; speedFactor = 2.5e2; }',
  '{ hostName = "f8"; systems = [ "x86_64-linux" ]; speedFactor = 7.; }',
  '{ hostName = "f5"; systems = [ "x86_64-linux" ]; speedFactor = .25; }',
  '{ hostName = "f6"; systems = [ "x86_64-linux" ]; speedFactor = 123456.7890125; }',
  '{ hostName = "f7"; systems = [ "x86_64-linux" ]; speedFactor = (3.75); }',
  // Ints as written: leading zeros, negative (the module rejects it; the line is still this).
  '{ hostName = "i1"; system = "x86_64-linux"; maxJobs = 007; speedFactor = 10; }',
  '{ hostName = "i2"; system = "x86_64-linux"; maxJobs = -1; }',
  // protocol null: no scheme; a user without one.
  '{ hostName = "localhost"; protocol = null; sshUser = "hydra"; system = "x86_64-linux"; }',
  // Strings with escapes, and one-line indented strings.
  '{ hostName = "tab\\there"; system = "x86_64-linux"; sshKey = "/keys/\\$x\\"q"; }',
  "{ hostName = ''indented''; system = ''x86_64-linux''; publicHostKey = ''c3NoLWVkMjU1MTkg''; }",
  // Neither system nor systems: the module's assertion fails, the line says `-`.
  '{ hostName = "nosys"; }',
  // Every attribute.
  '{ hostName = "all"; protocol = "ssh"; sshUser = "u"; system = null; systems = [ "x86_64-linux" "aarch64-linux" ]; sshKey = "/root/.ssh/id"; maxJobs = 8; speedFactor = 4; supportedFeatures = [ "a" "b" ]; mandatoryFeatures = [ "b" ]; publicHostKey = "c3NoLWVkMjU1MTkgQUFBQQ=="; }',
];

const fixture = path.join(fixtures, 'renderMachines.nix');

/** Our lines for `entries`, rendered for Nix `version`. */
function ourLines(entries: string[], version: string): string[] {
  const found = findDeclarations(
    `{ config, ... }: {\n  nix.buildMachines = [\n    ${entries.join('\n    ')}\n  ];\n}\n`,
  );
  assert.equal(found.buildMachines.length, 1);
  const setting = found.buildMachines[0]!;
  assert.deepEqual(setting.unknownParts, []);
  return setting.entries.map((entry) => {
    const rendered = renderEntry(entry, parseNixVersion(version)!);
    assert.deepEqual(rendered.unknown, [], `${rendered.line} has unknown parts`);
    return rendered.line;
  });
}

/** Real Nix's lines for `entries` (the fixture copied to a directory the lab's chroots see). */
function nixLines(nix: InstalledNix, dir: string, entries: string[], hostKeyColumn: boolean): string[] {
  fs.copyFileSync(fixture, path.join(dir, 'render.nix'));
  const expression = `import ${dir}/render.nix { hostKeyColumn = ${hostKeyColumn}; entries = [ ${entries.join(' ')} ]; }`;
  const result = spawnSync(
    ...nixCommand('nix-instantiate', ['--eval', '--strict', '--json', '-E', expression], nix.root),
    {
      encoding: 'utf8',
      env: isolatedEnv(dir),
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

const nix = requireRealNix('the machines line we render is the one NixOS writes');
const nixes = nix === undefined ? [] : [nix, ...requireLabNixes('the machines line we render is the one NixOS writes')];
const dirs = caseDirs('nix-modules-render');

test('both seeds give an entry', () => assert.equal(seedEntries.length, 2));

test('what the grammar does not read (escapes in indented strings) stays unknown, never wrong', () => {
  const found = findDeclarations(
    "{ nix.buildMachines = [ { hostName = ''a'''b''; system = ''x''$y''; maxJobs = 1e3; } ]; }",
  );
  const rendered = renderEntry(found.buildMachines[0]!.entries[0]!, parseNixVersion('2.8')!);
  assert.deepEqual(rendered.unknown.sort(), ['hostName', 'maxJobs', 'system']);
});

for (const real of nixes) {
  describe(`rendered machines lines agree with ${real.versionText}${real.root ? ` (${real.root})` : ''}`, () => {
    test('every literal entry, Nix ≥ 2.4 (with the host key column)', () => {
      assert.deepEqual(ourLines(literalEntries, '2.8'), nixLines(real, dirs(), literalEntries, true));
    });
    test('Nix before 2.4 gets seven columns', () => {
      assert.deepEqual(ourLines(literalEntries, '2.3'), nixLines(real, dirs(), literalEntries, false));
    });
  });
}
