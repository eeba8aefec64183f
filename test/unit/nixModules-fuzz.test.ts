// Any text in a .nix file that mentions buildMachines: the seeds' modules cut, spliced and
// sprinkled with Nix's punctuation, control bytes and long runs. The analysis (declarations,
// rendered lines, every check, the hover) never throws, every problem's span and every fix lies
// inside the text, and every entry renders one line without a newline of our own making.
// Completion and hover at random offsets of the same texts never throw either, and every
// completion edit lies inside the text.
// Seeded; replay with NIXMODULES_FUZZ_SEED=<seed> (printed when it fails).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TextEdit } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { rulesFor } from '../../server/src/model/nixVersion';
import { builderConfigurations } from '../../server/src/nixModules/builderConfigurations';
import { analyzeNixModule, type EvaluatedLists } from '../../server/src/nixModules/nixModuleAnalysis';
import { nixModuleCompletions } from '../../server/src/nixModules/nixModuleCompletion';
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

/** A seed module cut, spliced and sprinkled with `pieces`; it always mentions buildMachines. */
function hostileText(rng: ReturnType<typeof makeRng>): string {
  let text = rng.pick(seeds);
  for (let edits = rng.int(8); edits > 0; edits--) {
    const at = rng.int(text.length + 1);
    const cut = rng.chance(0.3) ? rng.int(40) : 0;
    const insert = rng.chance(0.5) ? rng.pick(pieces) : rng.pick(seeds).slice(rng.int(200), rng.int(400));
    text = text.slice(0, at) + insert + text.slice(at + cut);
  }
  return text.includes('buildMachines') ? text : `${text}\nnix.buildMachines`;
}

test('hostile .nix text never throws, and every span and fix stays inside it', () => {
  const seed = seedFrom('NIXMODULES_FUZZ_SEED');
  const rng = makeRng(seed);
  for (let i = 0; i < 300; i++) {
    const text = hostileText(rng);
    try {
      // The same text as the builder's own configuration too (its trusted-users, its fix there).
      const workspace = {
        file: '/w/configuration.nix',
        configurations: builderConfigurations(['/w/b.nix'], () => text),
      };
      const analysis = analyzeNixModule(text, context, { workspace });
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

/** What evaluation could answer for a list part: builders with some attributes, some unknown, some items no set. */
const evaluatedItems = [
  new Map([
    ['hostName', { kind: 'string' as const, value: 'b' }],
    ['system', undefined],
  ]),
  undefined,
  new Map([['hostname', { kind: 'int' as const, value: 0n }]]),
];

test('completion and hover at random offsets of hostile .nix text never throw, and every edit stays inside it', async () => {
  const seed = seedFrom('NIXMODULES_FUZZ_SEED');
  const rng = makeRng(seed);
  const ssh = { homes: ['/nonexistent-home'], configFile: '/nonexistent-home/.ssh/config' };
  let offered = 0;
  for (let i = 0; i < 150; i++) {
    const text = hostileText(rng);
    const document = TextDocument.create('file:///fuzz/configuration.nix', 'nix', 1, text);
    let offset = 0;
    try {
      const literal = analyzeNixModule(text, context);
      const lists: EvaluatedLists = new Map(literal!.lists.map((l) => [l.span.start, evaluatedItems]));
      const analysis = analyzeNixModule(text, context, { evaluatedLists: lists })!;
      for (let tries = 0; tries < 8; tries++) {
        offset = rng.int(text.length + 1);
        nixModuleHover(analysis, offset, 'Nix 2.8.0', rng.chance(0.5));
        const items = await nixModuleCompletions({
          document,
          offset,
          localSystem: 'x86_64-linux',
          portInUri: false,
          ssh,
          vocabulary: { systems: new Set(), features: new Set() },
          snippets: rng.chance(0.5),
        });
        if (items.length > 0) offered++;
        for (const item of items) {
          const { range } = item.textEdit as TextEdit;
          const [start, end] = [document.offsetAt(range.start), document.offsetAt(range.end)];
          assert.ok(0 <= start && start <= end && end <= text.length, `${item.label} at ${start}-${end}`);
        }
      }
    } catch (error) {
      assert.fail(
        `seed ${seed}, case ${i}, offset ${offset}: ${error instanceof Error ? error.stack : String(error)}\n${JSON.stringify(text.slice(0, 2000))}`,
      );
    }
  }
  // The offsets reach entries: the run is not only texts the completion ignores.
  assert.ok(offered > 0, `seed ${seed}: no offset offered anything`);
});
