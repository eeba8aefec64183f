// Differential test: our builders parser against the real Nix installed here. Every run
// generates fresh random builders texts (and nix.conf texts) from a seed it prints, asks Nix
// how it reads each one, and compares: accepted or rejected, the error message, and each
// machine's systems, maxJobs, supportedFeatures and mandatoryFeatures. Replay a run with
// NIX_ORACLE_SEED=<seed>; change its size with NIX_ORACLE_CASES=<n>.
// Without Nix: fails in CI (CI=true), skipped loudly elsewhere.

import { caseDirs } from '../helpers/caseDirs';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { parseNixVersion, rulesFor, type VersionRules } from '../../server/src/model/nixVersion';
import { generateBuildersCase, generateNixConfCase, type GeneratedCase } from '../helpers/builders-generator';
import { makeRng, seedFrom } from '../helpers/prng';
import type { Problem } from '../../server/src/model/problem';
import {
  asNixPrintsError,
  askNixAboutBuilders,
  askNixAboutConf,
  machineRow,
  readFileLikeNix,
  type InstalledNix,
  type OracleAnswer,
} from '../helpers/nix';

// The machine's own Nix (2.8 on Debian 12) and the version lab's (2.26, 2.34), each with its own rules.
const nix = requireRealNix('our parser agrees with real Nix');
if (nix !== undefined) describeOracle(nix);
for (const labNix of requireLabNixes('our parser agrees with real Nix')) describeOracle(labNix);

function describeOracle(nix: InstalledNix): void {
  const version = parseNixVersion(nix.versionText);
  assert.ok(version, `cannot read a version from ${nix.versionText}`);
  const rules = rulesFor(version);
  const caseDir = caseDirs('nix-oracle');

  test(`known cases: our parser reads builders texts as ${nix.versionText} does`, async () => {
    const dir = caseDir();
    fs.writeFileSync(path.join(dir, 'inner'), 'c - - 5 ; @' + path.join(dir, 'outer') + ' #x\n');
    fs.writeFileSync(path.join(dir, 'outer'), 'b x86_64-darwin\n@' + path.join(dir, 'inner') + '\n');
    fs.writeFileSync(path.join(dir, 'self'), '@' + path.join(dir, 'self') + '\n');
    const texts = [
      '',
      'a',
      'a x86_64-linux - 2 1 big-parallel kvm',
      'a - - 1.5',
      'a - - x',
      'a ; ; b',
      '  @/nonexist',
      ' #c',
      'a #c ; b',
      'a#c',
      '#foo',
      ';',
      '@',
      '@/nonexistent',
      ' ',
      '\r',
      'a\r',
      '- b',
      '-x',
      'a - - - - - - bad!',
      'a - - - - - - QUFB',
      'a - - - - - - A=!!',
      'a - - - - - - ====',
      'a - - - - - - é',
      'a - - +3',
      'a - - 007',
      'a - - 4294967295',
      'a - - 4294967296',
      'a - - -0',
      'a - - +',
      'a - - 0x10',
      'a - - 3x',
      'a - - 0 0',
      'a - - 1 +0',
      'a - - 1 - x,y,x,,a b,,,a',
      'a ,,,',
      'a\tb\t-\t3',
      `@ ${path.join(dir, 'outer')}  `,
      `@${path.join(dir, 'outer')}#x`,
      `@${dir}`,
      `@${path.join(dir, 'self')}`,
      'a b c d e f g h i j',
      'a - - - - - - - -x',
      // Store URIs: Nix 2.23+ parses them when it reads the machines (a regex to 2.30, RFC 3986 from 2.31).
      ...storeUris.map((uri) => `${uri} x86_64-linux`),
    ];
    const disagreements: string[] = [];
    await forEachLimited(texts, 2, async (text, slot) => {
      const d = await compareBuilders(nix, rules, { text, files: {} }, dir, slot);
      if (d !== undefined) disagreements.push(d);
    });
    assert.deepEqual(disagreements, []);
  });

  const count = Number(process.env.NIX_ORACLE_CASES ?? 300);
  const seed = seedFrom('NIX_ORACLE_SEED');
  test(`${count} random builders texts are read as ${nix.versionText} reads them (seed ${seed})`, async () => {
    const rng = makeRng(seed);
    const cases: { generated: GeneratedCase; dir: string }[] = [];
    for (let i = 0; i < count; i++) {
      const dir = caseDir();
      const generated = generateBuildersCase(rng, { dir });
      for (const [file, content] of Object.entries(generated.files)) fs.writeFileSync(file, content);
      cases.push({ generated, dir });
    }
    const started = Date.now();
    const disagreements: string[] = [];
    await forEachLimited(cases, 2, async ({ generated, dir }, slot) => {
      const d = await compareBuilders(nix, rules, generated, dir, slot);
      if (d !== undefined) disagreements.push(d);
    });
    console.log(`nix oracle: ${count} builders cases in ${Date.now() - started} ms (seed ${seed})`);
    assert.equal(
      disagreements.length,
      0,
      `${disagreements.length} of ${count} cases disagree with real Nix (replay: NIX_ORACLE_SEED=${seed}):\n` +
        disagreements.slice(0, 8).join('\n'),
    );
  });

  const confCount = Math.ceil(count / 6);
  const confSeed = (seed ^ 0x5bd1e995) >>> 0;
  test(`${confCount} random nix.conf texts are read as ${nix.versionText} reads them (seed ${seed})`, async () => {
    const rng = makeRng(confSeed);
    const cases: { generated: GeneratedCase; dir: string }[] = [];
    for (let i = 0; i < confCount; i++) {
      const dir = caseDir();
      const generated = generateNixConfCase(rng, { dir });
      for (const [file, content] of Object.entries(generated.files)) fs.writeFileSync(file, content);
      cases.push({ generated, dir });
    }
    const disagreements: string[] = [];
    await forEachLimited(cases, 2, async ({ generated, dir }, slot) => {
      const theirs = await askNixAboutConf(generated.text, dir, slot, nix);
      const conf = parseNixConf(generated.text, rules, {
        path: path.join(dir, 'nix.conf'),
        readFile: readFileLikeNix(dir),
        localSystem: nix.system,
      });
      const confError = conf.problems.find((p) => p.severity === 'error');
      const ours: OracleAnswer = confError !== undefined ? rejected(confError) : answerOf(conf.builders?.builders);
      if (!isDeepStrictEqual(ours, theirs)) disagreements.push(describe(generated, ours, theirs));
    });
    assert.equal(
      disagreements.length,
      0,
      `${disagreements.length} of ${confCount} nix.conf cases disagree with real Nix (replay: NIX_ORACLE_SEED=${seed}):\n` +
        disagreements.slice(0, 8).join('\n'),
    );
  });
}

/** Column-1 shapes where Nix versions differ (each seen on real 2.8, 2.26.3 and 2.34.8). */
const storeUris = [
  'ssh-ng://b:notaport',
  'ssh://b:22',
  'ssh://b:',
  'ssh://u@b',
  'ssh://u:p@b',
  'ssh://[::1]',
  'ssh://::1',
  'ssh://[fe80::1%eth0]',
  'ssh://[fe80::1%25eth0]',
  'ssh://fe80::1%eth0',
  'ssh://b?remote-program=a%20b',
  'ssh://b?remote-program=a%2',
  'ssh://b?x',
  'ssh://b?a=b&c=d',
  'ssh://b#frag',
  'ssh://b/path',
  'ssh://b?a=$(x)',
  'ssh://b?a={x}',
  'ssh://b?a=`x`',
  'ssh://b?a=|x',
  'ssh://b?a=<x>',
  'ssh://b?a=\\x',
  'ssh://b?a=[x]',
  'ssh://b?a=^x',
  'ssh://b!x',
  'ssh://b$x',
  'ssh://b(x)',
  'ssh://b*x',
  "ssh://b'x",
  'ssh://b"x',
  'ssh://hôte',
  'hôte',
  'ssh://b%41',
  'ssh://b%4',
  'ssh://b%zz',
  'ssh://-b',
  'ssh://u@',
  'ssh://',
  'ssh://@b',
  'ssh://b@c@d',
  'ssh://b:22:33',
  'ssh://b/../x',
  'SSH://b',
  '1ssh://b',
  'ssh+x://b',
  'ssh://b?a=%zz',
  'ssh://b?a=%4x',
  '-oProxyCommand=x',
  './rel',
  'auto?x=%zz',
  'daemon?x=1',
  'local',
  'unix:///x',
  'ssh://b~x',
  'ssh://b_x',
  'ssh://b,x',
  'ssh://b&x',
  'ssh://b=x',
  'ssh://b+x',
  'ssh://b?a=1#f^g',
  'ssh://b#f"g',
  'file://h/x',
  'ssh://[::1]:22',
  'ssh://[zz]',
  'ssh://[:1]',
  'ssh://[1::2::3]',
  'ssh://[1:2:3:4:5:6:7:8]',
  'ssh://[1:2:3:4:5:6:7:8:9]',
  'ssh://[::ffff:1.2.3.4]',
  'ssh://[::ffff:1.2.3.400]',
  'ssh://[::ffff:01.2.3.4]',
  'ssh://[v1.x]',
];

/** Our answer for a rejected text: the message Nix would print for our first error. */
function rejected(error: Problem): OracleAnswer {
  return { accepted: false, error: asNixPrintsError(error) };
}

/** Our answer for a parsed builders text, in the oracle's terms. */
function answerOf(parsed: ReturnType<typeof parseBuilders> | undefined): OracleAnswer {
  if (parsed === undefined) return { accepted: true, rows: [] };
  const error = parsed.problems.find((p) => p.severity === 'error');
  if (error !== undefined) return rejected(error);
  return { accepted: true, rows: parsed.machines.map(machineRow) };
}

async function compareBuilders(
  nix: InstalledNix,
  rules: VersionRules,
  generated: GeneratedCase,
  dir: string,
  slot: number,
): Promise<string | undefined> {
  const theirs = await askNixAboutBuilders(generated.text, dir, slot, nix);
  const ours = answerOf(
    parseBuilders(generated.text, rules, { readFile: readFileLikeNix(dir), localSystem: nix.system }),
  );
  return isDeepStrictEqual(ours, theirs) ? undefined : describe(generated, ours, theirs);
}

function describe(generated: GeneratedCase, ours: OracleAnswer, theirs: OracleAnswer): string {
  return [
    `- text: ${JSON.stringify(generated.text)}`,
    ...Object.entries(generated.files).map(([f, c]) => `  file ${f}: ${JSON.stringify(c)}`),
    `  nix:  ${JSON.stringify(theirs)}`,
    `  ours: ${JSON.stringify(ours)}`,
  ].join('\n');
}

/** Runs `work` over `items` with at most `limit` at a time; `slot` is which of the `limit` runs. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, slot: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (slot: number) => {
    while (next < items.length) await work(items[next++]!, slot);
  };
  await Promise.all(Array.from({ length: limit }, (_, slot) => worker(slot)));
}
