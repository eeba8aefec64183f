// The warnings (and value errors) of a nix.conf. Every Nix message quoted here was printed by
// real Nix 2.8.0; lint-oracle.test.ts keeps checking them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNixConf, type ParseNixConfOptions } from '../../server/src/model/nixConf';
import { nix2_8, rulesFor, type NixVersion } from '../../server/src/model/nixVersion';
import type { Problem, ProblemCode, Span } from '../../server/src/model/problem';
import { lintNixConf, type LintContext } from '../../server/src/model/lint/index';

const v = (major: number, minor: number): NixVersion => ({ major, minor, patch: 0 });
const contextFor = (version: NixVersion): LintContext => ({
  version,
  rules: rulesFor(version),
  keyHome: '/root',
  daemon: true,
});
const nix28 = contextFor(nix2_8);

const lintConf = (text: string, context: LintContext = nix28, options: ParseNixConfOptions = {}) =>
  lintNixConf(
    parseNixConf(text, context.rules, { path: '/etc/nix/nix.conf', localSystem: 'x86_64-linux', ...options }),
    context,
  );
const codes = (problems: Problem[]): ProblemCode[] => problems.map((p) => p.code);
const at = (text: string, span: Span | undefined): string =>
  span === undefined ? '<none>' : text.slice(span.start, span.end);
const one = (problems: Problem[], code: ProblemCode): Problem => {
  const found = problems.filter((p) => p.code === code);
  assert.equal(found.length, 1, `expected one ${code}, got ${JSON.stringify(problems, null, 1)}`);
  return found[0]!;
};
const files =
  (contents: Record<string, string>) =>
  (file: string): string | undefined =>
    contents[file];

describe('unknown settings', () => {
  test('a misspelt remote-build setting is a warning quoting Nix ("unknown setting \'buidlers\'"), suggesting builders', () => {
    const text = 'buidlers = ssh://a x86_64-linux\n';
    const p = one(lintConf(text), 'unknown-setting');
    assert.equal(p.severity, 'warning');
    assert.equal(at(text, p.span), 'buidlers');
    assert.equal(p.nixMessage, "unknown setting 'buidlers'");
    assert.match(p.message, /Nix ignores this line/);
    assert.match(p.message, /Did you mean builders\?/);
    assert.match(p.message, /does not set 'builders', which remote builds depend on/);
    assert.deepEqual(p.data, { suggestion: 'builders' });
  });

  test('any other unknown name is a warning too (Nix ignores it), with a suggestion when one is near', () => {
    assert.deepEqual(one(lintConf('sandbx = true'), 'unknown-setting').data, { suggestion: 'sandbox' });
    const p = one(lintConf('frobnicate = yes'), 'unknown-setting');
    assert.equal(p.data, undefined);
    assert.match(p.message, /man nix\.conf/);
  });

  test('`extra-` of a setting that is not a list is unknown to Nix: a warning suggesting the plain name', () => {
    const p = one(lintConf('extra-max-jobs = 3'), 'unknown-setting');
    assert.equal(p.nixMessage, "unknown setting 'extra-max-jobs'");
    assert.match(p.message, /'max-jobs' is not a list/);
    assert.deepEqual(p.data, { suggestion: 'max-jobs' });
  });

  test('`extra-` of a list setting is fine; a misspelt one suggests the `extra-` form', () => {
    assert.deepEqual(
      lintConf(
        'extra-substituters = https://a\nextra-trusted-public-keys = k\nextra-system-features = kvm\nextra-platforms = aarch64-linux',
      ),
      [],
    );
    assert.deepEqual(one(lintConf('extra-substituter = https://a'), 'unknown-setting').data, {
      suggestion: 'extra-substituters',
    });
  });

  test("`extra-builders` gets only the parser's own warning, not a second one", () => {
    const conf = parseNixConf('extra-builders = a', nix28.rules, {});
    assert.deepEqual(codes(conf.problems), ['extra-builders-ignored']);
    assert.deepEqual(codes(lintNixConf(conf, nix28)), []);
  });

  test('old names Nix 2.8 still accepts (build-max-jobs, binary-caches, gc-keep-outputs) are fine', () => {
    assert.deepEqual(
      lintConf('build-max-jobs = 2\nbinary-caches = https://a\ngc-keep-outputs = true\nbuild-use-substitutes = true'),
      [],
    );
  });

  test('a setting of newer Nix is unknown to Nix 2.8 (it warns), and fine when targeting newer Nix', () => {
    const text = 'use-xdg-base-directories = true';
    const p = one(lintConf(text), 'unknown-setting');
    assert.match(p.message, /Nix 2\.8 does not have the setting 'use-xdg-base-directories' yet/);
    assert.deepEqual(lintConf(text, contextFor(v(2, 24))), []);
  });
});

describe('values Nix refuses', () => {
  test('builders-use-substitutes must be true/false (or yes/no/1/0): anything else is an error quoting Nix', () => {
    for (const value of ['maybe', 'True', 'on', 'true false']) {
      const text = `builders-use-substitutes = ${value}`;
      const p = one(lintConf(text), 'conf-invalid-value');
      assert.equal(p.severity, 'error');
      assert.equal(at(text, p.span), value);
      assert.equal(p.nixMessage, `Boolean setting 'builders-use-substitutes' has invalid value '${value}'`);
      assert.match(p.message, /every nix command fails/);
      assert.match(p.message, /Write true or false/);
    }
    for (const value of ['true', 'false', 'yes', 'no', '1', '0'])
      assert.deepEqual(lintConf(`builders-use-substitutes = ${value}`), [], value);
  });

  test('an empty value of a Boolean is an error too, shown on the name', () => {
    const text = 'require-sigs =';
    const p = one(lintConf(text), 'conf-invalid-value');
    assert.equal(p.nixMessage, "Boolean setting 'require-sigs' has invalid value ''");
    assert.equal(at(text, p.span), 'require-sigs');
  });

  test('max-jobs must be `auto` or an unsigned integer: errors quote "should be \'auto\' or an integer"', () => {
    for (const value of ['four', '-1', '4294967296', 'AUTO', '1 2', '1.5']) {
      const p = one(lintConf(`max-jobs = ${value}`), 'conf-invalid-value');
      assert.equal(p.nixMessage, "configuration setting 'max-jobs' should be 'auto' or an integer", value);
    }
    assert.equal(
      one(lintConf('max-jobs ='), 'conf-invalid-value').nixMessage,
      "configuration setting 'max-jobs' should be 'auto' or an integer",
    );
    for (const value of ['auto', '0', '+3', '007', '4294967295'])
      assert.deepEqual(lintConf(`max-jobs = ${value}\nbuilders = a`), [], value);
  });

  test('an old name is checked as the setting it stands for, and Nix names that setting', () => {
    assert.equal(
      one(lintConf('build-max-jobs = x'), 'conf-invalid-value').nixMessage,
      "configuration setting 'max-jobs' should be 'auto' or an integer",
    );
    assert.equal(
      one(lintConf('build-use-substitutes = x'), 'conf-invalid-value').nixMessage,
      "Boolean setting 'substitute' has invalid value 'x'",
    );
  });

  test('cores and connect-timeout are unsigned integers ("setting \'cores\' has invalid value"); sandbox is true, false or relaxed', () => {
    assert.equal(
      one(lintConf('cores = -1'), 'conf-invalid-value').nixMessage,
      "setting 'cores' has invalid value '-1'",
    );
    assert.equal(
      one(lintConf('cores = 4294967296'), 'conf-invalid-value').nixMessage,
      "setting 'cores' has invalid value '4294967296'",
    );
    assert.equal(
      one(lintConf('connect-timeout = 1.5'), 'conf-invalid-value').nixMessage,
      "setting 'connect-timeout' has invalid value '1.5'",
    );
    assert.deepEqual(lintConf('connect-timeout = 18446744073709551615\ncores = 0'), []);
    assert.equal(
      one(lintConf('connect-timeout = 18446744073709551616'), 'conf-invalid-value').nixMessage,
      "setting 'connect-timeout' has invalid value '18446744073709551616'",
    );
    assert.equal(
      one(lintConf('sandbox = yes'), 'conf-invalid-value').nixMessage,
      "option 'sandbox' has invalid value 'yes'",
    );
    assert.deepEqual(lintConf('sandbox = relaxed'), []);
  });

  test('an invalid value is an error even when a later line sets a good one (Nix fails on the first)', () => {
    assert.deepEqual(codes(lintConf('max-jobs = foo\nmax-jobs = 2')), ['conf-invalid-value']);
  });

  test('a value that is only a comment is empty: `max-jobs = # none` is an error', () => {
    assert.deepEqual(codes(lintConf('max-jobs = # none')), ['conf-invalid-value']);
  });
});

describe('max-jobs = 0 with no builder', () => {
  const nixMessage = "unable to start any build; either increase '--max-jobs' or enable remote builds.";

  test('max-jobs = 0 and an empty `builders` is a warning: nothing can build', () => {
    const text = 'max-jobs = 0\nbuilders =\n';
    const p = one(lintConf(text), 'nothing-can-build');
    assert.equal(at(text, p.span), '0');
    assert.equal(p.nixMessage, nixMessage);
  });

  test('builders that are all maxJobs 0, or only a missing @file, leave nothing to build either', () => {
    assert.deepEqual(codes(lintConf('max-jobs = 0\nbuilders = a - - 0')), ['nothing-can-build', 'max-jobs-zero']);
    assert.deepEqual(
      codes(lintConf('max-jobs = 0\nbuilders = @/nonexistent/machines', nix28, { readFile: files({}) })),
      ['nothing-can-build', 'include-missing'],
    );
  });

  test('no warning with a builder, without a `builders` line here (the default /etc/nix/machines may have some), or with max-jobs > 0', () => {
    assert.deepEqual(lintConf('max-jobs = 0\nbuilders = a x86_64-linux'), []);
    assert.deepEqual(lintConf('max-jobs = 0'), []);
    assert.deepEqual(lintConf('max-jobs = 1\nbuilders ='), []);
    assert.deepEqual(lintConf('max-jobs = 0\nmax-jobs = auto\nbuilders ='), [], 'the last max-jobs counts');
  });

  test('no warning when the builders come from an @file that was not read, or Nix rejects the builders anyway', () => {
    assert.deepEqual(lintConf('max-jobs = 0\nbuilders = @/etc/nix/machines'), []);
    assert.deepEqual(lintConf('max-jobs = 0\nbuilders = a - - x'), []);
  });
});

describe('builders lines', () => {
  test('every `builders` line is linted, with spans on the line', () => {
    const text = 'builders = a x86-64-linux\nbuilders = b:22\n';
    assert.deepEqual(
      lintConf(text).map((p) => [p.code, at(text, p.span)]),
      [
        ['unknown-system', 'x86-64-linux'],
        ['port-in-uri', ':22'],
      ],
    );
  });

  describe('in an included nix.conf', () => {
    let dir = '';
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-conf-test-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('problems of an included nix.conf are shown on the include, with file and fileSpan', () => {
      const included = path.join(dir, 'builders.conf');
      const includedText = 'buidlers = x\nbuilders = a x86-64-linux\nmax-jobs = many\n';
      fs.writeFileSync(included, includedText);
      const text = `include ${included}\n`;
      const problems = lintConf(text, nix28, {
        path: path.join(dir, 'nix.conf'),
        readFile: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined),
      });
      assert.deepEqual(
        problems.map((p) => [p.code, at(text, p.span), p.file, at(includedText, p.fileSpan)]),
        [
          ['unknown-setting', included, included, 'buidlers'],
          ['unknown-system', included, included, 'x86-64-linux'],
          ['conf-invalid-value', included, included, 'many'],
        ],
      );
      for (const p of problems) assert.ok(p.message.startsWith(`In ${included}: `), p.message);
    });

    test('a problem in an @file of a builders line of an included nix.conf keeps the @file as its file', () => {
      const machines = path.join(dir, 'machines');
      fs.writeFileSync(machines, 'b - - 0\n');
      const included = path.join(dir, 'more.conf');
      fs.writeFileSync(included, `builders = @${machines}\n`);
      const text = `include ${included}\n`;
      const p = one(
        lintConf(text, nix28, {
          path: path.join(dir, 'nix.conf'),
          readFile: (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined),
        }),
        'max-jobs-zero',
      );
      assert.equal(at(text, p.span), included);
      assert.equal(p.file, machines);
      assert.equal(at('b - - 0\n', p.fileSpan), '0');
    });
  });
});
