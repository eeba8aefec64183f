// Fuzz: 10 000 random and mutated builders and nix.conf texts. The parsers must never throw, and
// every span must lie inside the text it points into (a column's span must cover exactly the
// column's text). Replay a failure with MODEL_FUZZ_SEED=<seed> (printed when it fails).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuilders, type ParsedBuilders } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { rulesFor, type VersionRules } from '../../server/src/model/nixVersion';
import type { Span } from '../../server/src/model/problem';
import { generateBuildersCase, generateNixConfCase } from '../helpers/builders-generator';
import { makeRng, seedFrom, type Rng } from '../helpers/prng';

const rulesets: VersionRules[] = [
  rulesFor({ major: 2, minor: 8, patch: 0 }),
  rulesFor({ major: 2, minor: 24, patch: 0 }),
  rulesFor({ major: 2, minor: 29, patch: 0 }),
];

const alphabet = [
  ' ',
  ' ',
  '\t',
  '\n',
  '\n',
  '\r',
  ';',
  ';',
  '#',
  '@',
  '-',
  '-',
  ',',
  '=',
  '+',
  '.',
  '/',
  '!',
  'a',
  'b',
  'x',
  '0',
  '1',
  '9',
  'é',
  '😀',
  '\uD800',
  'builders',
  'include',
  '!include',
  'extra-builders',
  '@/a',
  '@/self',
  'ssh://h',
  'QUFB',
];

function randomText(rng: Rng): string {
  let text = '';
  const length = rng.int(60);
  for (let i = 0; i < length; i++) text += rng.pick(alphabet);
  return text;
}

function mutate(rng: Rng, text: string): string {
  let result = text;
  const edits = 1 + rng.int(4);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(result.length + 1);
    const roll = rng.next();
    if (roll < 0.4) result = result.slice(0, at) + rng.pick(alphabet) + result.slice(at);
    else if (roll < 0.7) result = result.slice(0, at) + result.slice(at + 1 + rng.int(5));
    else result = result.slice(0, at) + result.slice(rng.int(result.length + 1)); // splice
  }
  return result;
}

function assertSpan(label: string, text: string | undefined, span: Span | undefined, exact?: string): void {
  if (span === undefined) return;
  assert.ok(text !== undefined, `${label}: a span into an unknown file`);
  assert.ok(
    Number.isInteger(span.start) &&
      Number.isInteger(span.end) &&
      0 <= span.start &&
      span.start <= span.end &&
      span.end <= text.length,
    `${label}: span ${JSON.stringify(span)} outside a text of length ${text.length}`,
  );
  if (exact !== undefined)
    assert.equal(text.slice(span.start, span.end), exact, `${label}: span does not cover its text`);
}

/**
 * Every span of a builders parse; `inText` is the text its top-level spans are in. From a
 * nix.conf line (`exactRows` false) rows and paths can span several tokens, whose whitespace
 * Nix re-joined, so only columns must match their text exactly there.
 */
function checkBuilders(
  parsed: ParsedBuilders,
  inText: string,
  files: Record<string, string>,
  exactRows: boolean,
): void {
  const textOf = (file: string | undefined) => (file === undefined ? inText : files[file]);
  for (const e of parsed.entries) {
    assertSpan('entry', textOf(e.file), e.span, e.file === undefined && !exactRows ? undefined : e.text);
    assertSpan('entry includedVia', inText, e.includedVia);
  }
  for (const m of parsed.machines) {
    const t = textOf(m.file);
    assertSpan('machine row', t, m.rowSpan, m.file === undefined && !exactRows ? undefined : m.row);
    for (const c of [...Object.values(m.columns), ...m.extraColumns]) assertSpan('column', t, c.span, c.text);
    assertSpan('machine includedVia', inText, m.includedVia);
    assert.ok(Number.isInteger(m.maxJobs) && m.maxJobs >= 0);
  }
  for (const i of parsed.includes) {
    const t = textOf(i.file);
    assertSpan('include', t, i.span);
    assertSpan('include path', t, i.pathSpan, i.file === undefined && !exactRows ? undefined : i.path);
  }
  for (const p of parsed.problems) {
    assertSpan(`problem ${p.code}`, inText, p.span);
    if (p.file !== undefined) assertSpan(`problem ${p.code} in file`, files[p.file], p.fileSpan);
    assert.ok(p.message.length > 0);
  }
}

test('10 000 random and mutated inputs: no exception, every span inside its text', () => {
  const seed = seedFrom('MODEL_FUZZ_SEED');
  const rng = makeRng(seed);
  const dir = '/fuzz';
  for (let i = 0; i < 10_000; i++) {
    const rules = rulesets[i % rulesets.length]!;
    let input = '';
    try {
      const generated = i % 2 === 0 ? generateBuildersCase(rng, { dir }) : generateNixConfCase(rng, { dir });
      const files: Record<string, string> = {
        ...generated.files,
        '/a': mutate(rng, randomText(rng)),
        '/self': '@/self',
      };
      input = rng.chance(0.3) ? randomText(rng) : mutate(rng, generated.text);
      const readFile = (path: string): string | undefined => {
        if (path === dir || path === '/fuzz/throws') throw new Error('reading from file: Is a directory');
        return files[path];
      };

      const builders = parseBuilders(input, rules, { readFile, localSystem: 'x86_64-linux' });
      checkBuilders(builders, input, files, true);

      const conf = parseNixConf(input, rules, { path: '/fuzz/nix.conf', readFile, localSystem: 'x86_64-linux' });
      const confTextOf = (file: string | undefined) => (file === undefined ? input : files[file]);
      for (const s of conf.settings) {
        const t = confTextOf(s.file);
        assertSpan('setting name', t, s.nameSpan, s.name);
        assertSpan('setting value', t, s.valueSpan);
        for (const token of s.valueTokens) assertSpan('value token', t, token.span, token.text);
        if (s.builders !== undefined) checkBuilders(s.builders, t!, files, false);
      }
      for (const inc of conf.includes) assertSpan('conf include', confTextOf(inc.file), inc.pathSpan, inc.path);
      for (const p of conf.problems) {
        assertSpan(`conf problem ${p.code}`, input, p.span);
        if (p.file !== undefined) assertSpan(`conf problem ${p.code} in file`, files[p.file], p.fileSpan);
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      assert.fail(`case ${i} failed (replay: MODEL_FUZZ_SEED=${seed}): ${why}\ninput: ${JSON.stringify(input)}`);
    }
  }
});
