// Fuzz for the warnings: 3 000 generated and mutated builders and nix.conf texts. Linting must
// never throw, every span and fileSpan must lie inside the text it points into, every severity
// must be its code's, quick-fix data must survive JSON, and no parser error is repeated.
// Replay a failure with LINT_FUZZ_SEED=<seed> (printed when it fails).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { rulesFor, type NixVersion } from '../../server/src/model/nixVersion';
import { problemSeverities, type Problem, type Span } from '../../server/src/model/problem';
import { lintBuilders, lintNixConf, type LintContext } from '../../server/src/model/lint/index';
import { generateBuildersCase, generateNixConfCase } from '../helpers/builders-generator';
import { makeRng, seedFrom } from '../helpers/prng';

const versions: NixVersion[] = [
  { major: 2, minor: 8, patch: 0 },
  { major: 2, minor: 24, patch: 0 },
  { major: 2, minor: 31, patch: 0 },
];
const contexts: LintContext[] = versions.flatMap((version) => [
  { version, rules: rulesFor(version), keyHome: '/root', daemon: true },
  { version, rules: rulesFor(version), keyHome: '/home/user', daemon: false },
]);
/** The parser's codes: lint never reports them again. */
const parserCodes = new Set([
  'store-uri-missing',
  'empty-entry',
  'max-jobs-not-integer',
  'speed-factor-invalid',
  'host-key-not-base64',
  'include-unreadable',
  'include-cycle',
  'include-expansion-limit',
  'conf-illegal-line',
  'conf-include-missing',
  'conf-include-cycle',
  'extra-builders-ignored',
]);

function inside(text: string | undefined, span: Span | undefined): boolean {
  if (span === undefined) return true;
  return (
    text !== undefined &&
    Number.isInteger(span.start) &&
    0 <= span.start &&
    span.start <= span.end &&
    span.end <= text.length
  );
}

function check(problems: Problem[], text: string, files: Record<string, string>): void {
  for (const p of problems) {
    assert.equal(p.severity, problemSeverities[p.code], p.code);
    assert.ok(!parserCodes.has(p.code), `lint repeats the parser's ${p.code}`);
    assert.ok(inside(text, p.span), `${p.code}: span ${JSON.stringify(p.span)} outside the text`);
    if (p.file !== undefined) assert.ok(inside(files[p.file], p.fileSpan), `${p.code}: fileSpan outside ${p.file}`);
    if (p.data?.related !== undefined) {
      const related = p.data.related;
      assert.ok(
        inside(related.file === undefined ? text : files[related.file], related.span),
        `${p.code}: related span outside`,
      );
    }
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p, `${p.code}: not plain JSON`);
    assert.ok(p.message.length > 0);
  }
}

test("3 000 generated inputs: linting never throws, spans stay inside their texts, severities are the table's", () => {
  const seed = seedFrom('LINT_FUZZ_SEED');
  const rng = makeRng(seed);
  const dir = '/lint-fuzz';
  for (let i = 0; i < 3_000; i++) {
    const context = contexts[i % contexts.length]!;
    let input = '';
    try {
      const generated = i % 2 === 0 ? generateBuildersCase(rng, { dir }) : generateNixConfCase(rng, { dir });
      const files = generated.files;
      input = generated.text;
      const readFile = (path: string): string | undefined => {
        if (path === dir) throw new Error('reading from file: Is a directory');
        return files[path];
      };
      const builders = parseBuilders(input, context.rules, { readFile, localSystem: 'x86_64-linux' });
      check(lintBuilders(builders, context), input, files);
      const conf = parseNixConf(input, context.rules, {
        path: `${dir}/nix.conf`,
        readFile,
        localSystem: 'x86_64-linux',
      });
      check(lintNixConf(conf, context), input, files);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      assert.fail(`case ${i} failed (replay: LINT_FUZZ_SEED=${seed}): ${why}\ninput: ${JSON.stringify(input)}`);
    }
  }
});
