// Any text in a .nix file that mentions buildMachines: the seeds' modules cut, spliced and
// sprinkled with Nix's punctuation, control bytes and long runs. The analysis (declarations,
// rendered lines, every check, the hover) never throws, every problem's span and every fix lies
// inside the text, and every entry renders one line without a newline of our own making.
// Seeded; replay with NIXMODULES_FUZZ_SEED=<seed> (printed when it fails).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rulesFor } from '../../server/src/model/nixVersion';
import { builderConfigurations } from '../../server/src/nixModules/builderConfigurations';
import { analyzeNixModule } from '../../server/src/nixModules/nixModuleAnalysis';
import { nixModuleHover } from '../../server/src/nixModules/nixModuleHover';
import { makeRng, seedFrom } from '../helpers/prng';

const fixtures = join(__dirname, '../fixtures/nixModules');
const seeds = [
  'wiki-distributed-build.nix',
  'nixdev-distributed-builds.nix',
  'blog-remote-builders.nix',
  'darwin-linux-builder.nix',
  'trusted-users/remote-builder.nix',
].map((name) => readFileSync(join(fixtures, name), 'utf8'));
const pieces = [
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ';',
  '=',
  '"',
  "''",
  '${',
  '#',
  '/*',
  '*/',
  '\\',
  '.',
  '++',
  'rec',
  'let',
  'in',
  'with',
  'inherit',
  ':',
  '@',
  '?',
  '...',
  '\u0000',
  '\u001b',
  '\n',
  'buildMachines',
  'nix.',
  'linux-builder',
  'programs.ssh.knownHosts.',
  'networking.hostName = "remotebuilder";',
  'sshUser = "remotebuild";',
  'x'.repeat(5000),
  '1.5',
  '-0',
  '9999999999999999999999',
];

const version = { major: 2, minor: 8, patch: 0 };
const context = {
  version,
  rules: rulesFor(version),
  keyHome: '/nonexistent-home',
  daemon: true,
  localSystem: 'x86_64-linux',
};

test('hostile .nix text never throws, and every span and fix stays inside it', () => {
  const seed = seedFrom('NIXMODULES_FUZZ_SEED');
  const rng = makeRng(seed);
  for (let i = 0; i < 300; i++) {
    let text = rng.pick(seeds);
    for (let edits = rng.int(8); edits > 0; edits--) {
      const at = rng.int(text.length + 1);
      const cut = rng.chance(0.3) ? rng.int(40) : 0;
      const insert = rng.chance(0.5) ? rng.pick(pieces) : rng.pick(seeds).slice(rng.int(200), rng.int(400));
      text = text.slice(0, at) + insert + text.slice(at + cut);
    }
    if (!text.includes('buildMachines')) text += '\nnix.buildMachines';
    try {
      // The same text as the builder's own configuration too (its trusted-users, its fix there).
      const workspace = {
        file: '/w/configuration.nix',
        configurations: builderConfigurations(['/w/b.nix'], () => text),
      };
      const analysis = analyzeNixModule(text, context, undefined, workspace);
      assert.ok(analysis);
      for (const p of analysis.problems) {
        assert.ok(
          p.span.start >= 0 && p.span.start <= p.span.end && p.span.end <= text.length,
          `${p.code} at ${JSON.stringify(p.span)}`,
        );
        const fixed = p.fix?.in?.text ?? text;
        if (p.fix) assert.ok(p.fix.span.start >= 0 && p.fix.span.end <= fixed.length);
      }
      for (const { entry } of analysis.entries) nixModuleHover(analysis, entry.span.start, 'Nix 2.8.0', false);
    } catch (error) {
      assert.fail(
        `seed ${seed}, case ${i}: ${error instanceof Error ? error.stack : String(error)}\n${JSON.stringify(text.slice(0, 2000))}`,
      );
    }
  }
});
