// Differential check of formatting against real Nix: for generated machines files and nix.confs,
// Nix reads the same machines (or fails the same way) before and after Format Document. The
// parse-level proof over thousands of texts is formatting.test.ts; this asks Nix itself.
// Replay with FORMAT_ORACLE_SEED=<seed>; without Nix: fails in CI, skipped loudly elsewhere.

import { caseDirs } from '../helpers/caseDirs';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { formatMachines, formatNixConf } from '../../server/src/language/formatting';
import { applyChanges } from './helpers/applyChanges';
import { generateBuildersCase, generateNixConfCase, type GeneratedCase } from '../helpers/builders-generator';
import { askNixAboutBuilders, askNixAboutConf, type InstalledNix, type OracleAnswer } from '../helpers/nix';
import { makeRng, seedFrom } from '../helpers/prng';

const nix = requireRealNix('Nix reads formatted files as before');

/** Nix quotes the row in its errors; the row's whitespace is what formatting may change. */
function normalized(answer: OracleAnswer): OracleAnswer {
  if (answer.accepted) return answer;
  return { accepted: false, error: answer.error.replace(/\s+/g, ' ').replace(/' /g, "'").replace(/ '/g, "'") };
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, slot: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async (_, slot) => {
      while (next < items.length) await work(items[next++]!, slot);
    }),
  );
}

// The machine's own Nix and the version lab's (2.26, 2.34).
if (nix !== undefined) describeFormatting(nix);
for (const labNix of requireLabNixes('Nix reads formatted files as before')) describeFormatting(labNix);

/** Header comments as users and our "create file" fix write them. */
const headers = [
  '# URI systems key maxJobs speedFactor supportedFeatures mandatoryFeatures hostKey',
  '#URI\tsystems   key jobs speed features mandatory host key',
  '# URI systems key maxJobs speedFactor ; supportedFeatures',
];

function describeFormatting(nix: InstalledNix): void {
  const seed = seedFrom('FORMAT_ORACLE_SEED');
  const caseDir = caseDirs('format-oracle');

  test(`${nix.versionText} reads 40 generated machines files the same before and after formatting (seed ${seed})`, async () => {
    const rng = makeRng(seed);
    const cases: { generated: GeneratedCase; dir: string }[] = [];
    while (cases.length < 40) {
      const dir = caseDir();
      const plain = generateBuildersCase(rng, { dir });
      // Some start with the header comment Format Document aligns (only its spaces change).
      const generated = rng.chance(0.3) ? { ...plain, text: `${rng.pick(headers)}\n${plain.text}` } : plain;
      if (formatMachines(generated.text).length === 0) continue; // only texts formatting changes
      for (const [file, content] of Object.entries(generated.files)) fs.writeFileSync(file, content);
      cases.push({ generated, dir });
    }
    const differences: string[] = [];
    await forEachLimited(cases, 2, async ({ generated, dir }, slot) => {
      const formatted = applyChanges(generated.text, formatMachines(generated.text));
      const before = normalized(await askNixAboutBuilders(generated.text, dir, slot, nix));
      const after = normalized(await askNixAboutBuilders(formatted, dir, slot, nix));
      if (!isDeepStrictEqual(before, after)) {
        differences.push(
          `- before: ${JSON.stringify(generated.text)}\n  after:  ${JSON.stringify(formatted)}\n  nix before: ${JSON.stringify(before)}\n  nix after:  ${JSON.stringify(after)}`,
        );
      }
    });
    assert.deepEqual(differences, [], `replay: FORMAT_ORACLE_SEED=${seed}`);
  });

  test(`${nix.versionText} reads 12 generated nix.confs the same before and after formatting (seed ${seed})`, async () => {
    const rng = makeRng(seed ^ 0x5bd1e995);
    const cases: { generated: GeneratedCase; dir: string }[] = [];
    while (cases.length < 12) {
      const dir = caseDir();
      const generated = generateNixConfCase(rng, { dir });
      if (formatNixConf(generated.text).length === 0) continue;
      for (const [file, content] of Object.entries(generated.files)) fs.writeFileSync(file, content);
      cases.push({ generated, dir });
    }
    const differences: string[] = [];
    await forEachLimited(cases, 2, async ({ generated, dir }, slot) => {
      const formatted = applyChanges(generated.text, formatNixConf(generated.text));
      const before = normalized(await askNixAboutConf(generated.text, dir, slot, nix));
      const after = normalized(await askNixAboutConf(formatted, dir, slot, nix));
      if (!isDeepStrictEqual(before, after)) {
        differences.push(
          `- before: ${JSON.stringify(generated.text)}\n  after:  ${JSON.stringify(formatted)}\n  nix before: ${JSON.stringify(before)}\n  nix after:  ${JSON.stringify(after)}`,
        );
      }
    });
    assert.deepEqual(differences, [], `replay: FORMAT_ORACLE_SEED=${seed}`);
  });
}
