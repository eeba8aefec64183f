// How a nix.conf is read (Nix 2.8's applyConfig), and how its builders line maps back onto the
// text as written. The messages were seen on real Nix 2.8.0 (NIX_CONF_DIR / NIX_CONFIG).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNixConf, resolveIncludePath, type ParseNixConfOptions } from '../../server/src/model/nixConf';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import type { Span } from '../../server/src/model/problem';

const at = (text: string, span: Span | undefined): string =>
  span === undefined ? '<none>' : text.slice(span.start, span.end);
const parse = (text: string, options: ParseNixConfOptions = {}) =>
  parseNixConf(text, nix2_8Rules, { path: '/etc/nix/nix.conf', localSystem: 'x86_64-linux', ...options });
const files =
  (contents: Record<string, string>) =>
  (path: string): string | undefined =>
    contents[path];

describe('settings', () => {
  test('`name = value`: the value is the tokens after `=` joined by single spaces', () => {
    const text = 'max-jobs =  4\nsubstituters =\thttps://a   https://b\n';
    const conf = parse(text);
    assert.deepEqual(
      conf.settings.map((s) => [s.name, s.value]),
      [
        ['max-jobs', '4'],
        ['substituters', 'https://a https://b'],
      ],
    );
    const s = conf.settings[1]!;
    assert.equal(at(text, s.nameSpan), 'substituters');
    assert.equal(at(text, s.valueSpan), 'https://a   https://b');
    assert.deepEqual(
      s.valueTokens.map((t) => at(text, t.span)),
      ['https://a', 'https://b'],
    );
  });

  test('`#` starts a comment to the end of the line, anywhere in it', () => {
    const conf = parse('cores = 2 # four\n# all comment\n   \nsandbox = false#x');
    assert.deepEqual(
      conf.settings.map((s) => [s.name, s.value]),
      [
        ['cores', '2'],
        ['sandbox', 'false'],
      ],
    );
    assert.deepEqual(conf.problems, []);
  });

  test('`name =` sets an empty value, with an empty span right after `=`', () => {
    const text = 'builders =';
    const s = parse(text).settings[0]!;
    assert.equal(s.value, '');
    assert.deepEqual(s.valueSpan, { start: 10, end: 10 });
    assert.deepEqual(s.builders?.machines, []);
  });

  test('only the second token must be `=`: `builders = = a` sets builders to `= a`', () => {
    assert.equal(parse('builders = = a').settings[0]!.value, '= a');
  });

  test('lines end at `\\n` only; a `\\r` before it is whitespace', () => {
    const conf = parse('cores = 2\r\n\r\nsandbox = false\r\n');
    assert.deepEqual(
      conf.settings.map((s) => s.value),
      ['2', 'false'],
    );
    assert.deepEqual(conf.problems, []);
  });
});

describe('illegal lines, with Nix 2.8’s message', () => {
  for (const [line, advice] of [
    ['foo', /`name = value`/],
    ['builders=a', /spaces around the `=`/],
    ['= a', /`name = value`/],
    ['builders : a', /`name = value`/],
    ['include', /`name = value`/],
    ['include a b', /exactly one path/],
    ['include = x', /exactly one path/],
  ] as const) {
    test(`"${line}" is an illegal configuration line`, () => {
      const text = `cores = 2\n  ${line}  # c\n`;
      const conf = parse(text);
      assert.equal(conf.problems.length, 1);
      const p = conf.problems[0]!;
      assert.equal(p.code, 'conf-illegal-line');
      assert.equal(p.severity, 'error');
      assert.equal(p.nixMessage, `illegal configuration line '  ${line}  ' in '/etc/nix/nix.conf'`);
      assert.equal(at(text, p.span), line);
      assert.match(p.message, advice);
    });
  }

  test('the message names the path it was given, e.g. NIX_CONFIG', () => {
    const conf = parseNixConf('foo', nix2_8Rules, { path: 'NIX_CONFIG' });
    assert.equal(conf.problems[0]!.nixMessage, "illegal configuration line 'foo' in 'NIX_CONFIG'");
  });
});

describe('include and !include', () => {
  test('a relative include is relative to the including file’s directory', () => {
    assert.equal(resolveIncludePath('sub.conf', '/etc/nix/nix.conf'), '/etc/nix/sub.conf');
    assert.equal(resolveIncludePath('../x/./y.conf', '/etc/nix/nix.conf'), '/etc/x/y.conf');
    assert.equal(resolveIncludePath('/abs/a.conf/', '/etc/nix/nix.conf'), '/abs/a.conf');
  });

  test('an included file’s settings apply where the include is (Nix 2.8 applies lines in order)', () => {
    const text = 'builders = a\ninclude sub.conf\nbuilders = c\n';
    const conf = parse(text, { readFile: files({ '/etc/nix/sub.conf': 'builders = b x86_64-darwin\n' }) });
    assert.deepEqual(
      conf.settings.map((s) => [s.value, s.file]),
      [
        ['a', undefined],
        ['b x86_64-darwin', '/etc/nix/sub.conf'],
        ['c', undefined],
      ],
    );
    assert.equal(conf.builders?.value, 'c');
    assert.equal(conf.includes[0]!.status, 'read');
    assert.equal(at(text, conf.settings[1]!.includedVia), 'sub.conf');
  });

  test('the effective builders is the last one applied, even from an included file', () => {
    const conf = parse('builders = a\ninclude sub.conf\n', {
      readFile: files({ '/etc/nix/sub.conf': 'builders = b\n' }),
    });
    assert.equal(conf.builders?.value, 'b');
  });

  test('no builders line: builders is undefined (Nix then reads @/etc/nix/machines)', () => {
    assert.equal(parse('cores = 2').builders, undefined);
  });

  test('a missing `include` file is an error with Nix’s message; a missing `!include` file is ignored', () => {
    const text = 'include nothere\n!include alsonothere\n';
    const conf = parse(text, { readFile: files({}) });
    assert.equal(conf.problems.length, 1);
    const p = conf.problems[0]!;
    assert.equal(p.code, 'conf-include-missing');
    assert.equal(p.nixMessage, "file '/etc/nix/nothere' included from '/etc/nix/nix.conf' not found");
    assert.equal(at(text, p.span), 'nothere');
    assert.match(p.message, /!include/);
    assert.deepEqual(
      conf.includes.map((i) => [i.ignoreMissing, i.status]),
      [
        [false, 'missing'],
        [true, 'missing'],
      ],
    );
  });

  test('an included file that exists but cannot be read is ignored silently, as Nix does', () => {
    const conf = parse('include /etc', {
      readFile: () => {
        throw new Error('reading from file: Is a directory');
      },
    });
    assert.deepEqual(conf.problems, []);
    assert.equal(conf.includes[0]!.status, 'unreadable');
  });

  test('an include that leads back to a file being read is an error (Nix 2.8 crashes)', () => {
    const text = 'include sub.conf';
    const conf = parse(text, { readFile: files({ '/etc/nix/sub.conf': 'include nix.conf\n' }) });
    assert.equal(conf.problems.length, 1);
    const p = conf.problems[0]!;
    assert.equal(p.code, 'conf-include-cycle');
    assert.equal(at(text, p.span), 'sub.conf');
    assert.equal(p.file, '/etc/nix/sub.conf');
    assert.equal(at('include nix.conf\n', p.fileSpan), 'nix.conf');
  });

  test('problems in an included file are shown on the include line, with the file and its span', () => {
    const text = 'include sub.conf';
    const conf = parse(text, { readFile: files({ '/etc/nix/sub.conf': 'cores = 1\nbad line here\n' }) });
    const p = conf.problems[0]!;
    assert.equal(p.code, 'conf-illegal-line');
    assert.equal(p.nixMessage, "illegal configuration line 'bad line here' in '/etc/nix/sub.conf'");
    assert.equal(at(text, p.span), 'sub.conf');
    assert.equal(at('cores = 1\nbad line here\n', p.fileSpan), 'bad line here');
  });
});

describe('builders in nix.conf', () => {
  test('the builders value is read as a builders text, with Nix’s row (single spaces) in messages', () => {
    const text = 'builders   =  a\tx86_64-linux  - x  ;  ; b # c\n';
    const s = parse(text).builders!;
    assert.equal(s.value, 'a x86_64-linux - x ; ; b');
    const problems = s.builders!.problems;
    assert.deepEqual(
      problems.map((p) => p.code),
      ['max-jobs-not-integer', 'empty-entry'],
    );
    assert.equal(
      problems[0]!.nixMessage,
      "bad machine specification: failed to convert column #3 in a row: 'a x86_64-linux - x ' to 'unsigned int'",
    );
  });

  test('builders spans map back onto the line as written: columns, problems, blank entries', () => {
    const text = 'cores = 1\nbuilders   =  a\tx86_64-linux  - x  ;  ; b # c\n';
    const b = parse(text).builders!.builders!;
    const a = b.machines[0]!;
    assert.equal(at(text, a.columns.storeUri.span), 'a');
    assert.equal(at(text, a.columns.systems!.span), 'x86_64-linux');
    assert.equal(at(text, a.columns.maxJobs!.span), 'x');
    assert.equal(at(text, a.rowSpan), 'a\tx86_64-linux  - x  '); // the row runs up to the `;`
    assert.equal(at(text, b.machines[1]!.columns.storeUri.span), 'b');
    assert.equal(at(text, b.problems[0]!.span), 'x');
    assert.equal(at(text, b.problems[1]!.span), '  '); // the blank entry: the spaces as written
  });

  test('a `#` in a builders line is a nix.conf comment: it ends the line, not the entry', () => {
    const conf = parse('builders = a #c ; b\n');
    assert.deepEqual(
      conf.builders!.builders!.machines.map((m) => m.storeUri),
      ['ssh://a'],
    );
  });

  test('builders @files are read with the same reader; their spans stay in the included file', () => {
    const text = 'builders = @/etc/nix/machines ; c';
    const s = parse(text, { readFile: files({ '/etc/nix/machines': 'a\nb x86_64-darwin - x' }) }).builders!;
    const b = s.builders!;
    assert.deepEqual(
      b.machines.map((m) => m.storeUri),
      ['ssh://a', 'ssh://b', 'ssh://c'],
    );
    assert.equal(at('a\nb x86_64-darwin - x', b.machines[1]!.columns.systems!.span), 'x86_64-darwin');
    assert.equal(at(text, b.machines[1]!.includedVia), '@/etc/nix/machines ');
    assert.equal(at(text, b.includes[0]!.pathSpan), '/etc/nix/machines');
    assert.equal(at(text, b.problems[0]!.span), '@/etc/nix/machines ');
  });

  test('`extra-builders` is not a setting Nix knows: a warning, its value parsed but not effective', () => {
    const text = 'builders = a\nextra-builders = b\n';
    const conf = parse(text);
    assert.equal(conf.builders?.value, 'a');
    assert.deepEqual(
      conf.problems.map((p) => [p.code, p.severity, p.nixMessage]),
      [['extra-builders-ignored', 'warning', "unknown setting 'extra-builders'"]],
    );
    assert.equal(at(text, conf.problems[0]!.span), 'extra-builders');
    assert.deepEqual(
      conf.settings[1]!.builders!.machines.map((m) => m.storeUri),
      ['ssh://b'],
    );
  });
});
