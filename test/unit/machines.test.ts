// How a builders text (machines file or `builders` value) is read, rule by rule. Every Nix 2.8
// behaviour asserted here was seen on real Nix 2.8.0 (and the oracle test keeps checking it).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseBuilders,
  storeUriAsNixReadsIt,
  type Machine,
  type ParseBuildersOptions,
  type ParsedBuilders,
} from '../../server/src/model/machines';
import { rulesFor } from '../../server/src/model/nixVersion';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import type { ProblemCode, Span } from '../../server/src/model/problem';

const nix2_24 = rulesFor({ major: 2, minor: 24, patch: 0 });
const nix2_29 = rulesFor({ major: 2, minor: 29, patch: 0 });
const local = { localSystem: 'x86_64-linux' };

const parse28 = (text: string, options: ParseBuildersOptions = local) => parseBuilders(text, nix2_8Rules, options);
const codes = (parsed: ParsedBuilders): ProblemCode[] => parsed.problems.map((p) => p.code);
const uris = (parsed: ParsedBuilders): string[] => parsed.machines.map((m) => m.storeUri);
const at = (text: string, span: Span | undefined): string =>
  span === undefined ? '<none>' : text.slice(span.start, span.end);
const only = (parsed: ParsedBuilders): Machine => {
  assert.equal(parsed.machines.length, 1, JSON.stringify(parsed.machines));
  return parsed.machines[0]!;
};
const files =
  (contents: Record<string, string>) =>
  (path: string): string | undefined =>
    contents[path];

describe('store URI (column 1)', () => {
  test('a bare host gets ssh:// in front, as Nix does', () => {
    assert.equal(storeUriAsNixReadsIt('builder'), 'ssh://builder');
    assert.equal(storeUriAsNixReadsIt('nix@builder:2222'), 'ssh://nix@builder:2222');
    assert.equal(storeUriAsNixReadsIt('dummy?x=1'), 'ssh://dummy?x=1');
  });

  test('a URI with :// or /, and auto, daemon, local (also with ?parameters), stay as written', () => {
    for (const uri of [
      'ssh://a',
      'ssh-ng://a',
      '/some/store',
      'auto',
      'daemon',
      'local',
      'auto?x',
      'local?root=/x',
      '?root=x',
    ]) {
      assert.equal(storeUriAsNixReadsIt(uri), uri);
    }
  });

  test('`-` in the first column is an error: store-uri-missing, on the `-`, quoting Nix', () => {
    const text = 'a\n- x86_64-linux';
    const parsed = parse28(text);
    assert.deepEqual(codes(parsed), ['store-uri-missing']);
    const p = parsed.problems[0]!;
    assert.equal(p.severity, 'error');
    assert.equal(at(text, p.span), '-');
    assert.equal(
      p.nixMessage,
      "bad machine specification: store URL was not found at the first column of a row: '- x86_64-linux'",
    );
    assert.match(p.message, /store URL was not found.*Put the builder's store URI first/);
    assert.deepEqual(uris(parsed), ['ssh://a']);
  });
});

describe('splitting entries on Nix 2.8', () => {
  test('entries are separated by newlines and `;`; empty pieces between separators are dropped', () => {
    assert.deepEqual(uris(parse28('a\nb;c;;d\n\n;e')), ['ssh://a', 'ssh://b', 'ssh://c', 'ssh://d', 'ssh://e']);
    assert.deepEqual(parse28(';;\n;').problems, []);
  });

  test('an entry of only spaces (`a ; ; b`) is an error: empty-entry, with Nix row quoted', () => {
    const text = 'a ; ; b';
    const parsed = parse28(text);
    assert.deepEqual(codes(parsed), ['empty-entry']);
    assert.equal(at(text, parsed.problems[0]!.span), ' ');
    assert.equal(
      parsed.problems[0]!.nixMessage,
      "bad machine specification: store URL was not found at the first column of a row: ' '",
    );
    assert.deepEqual(uris(parsed), ['ssh://a', 'ssh://b']);
  });

  test('a lone carriage return or tab is an entry of only whitespace too', () => {
    assert.deepEqual(codes(parse28('a\n\r\nb')), ['empty-entry']);
    assert.deepEqual(codes(parse28('a;\t;b')), ['empty-entry']);
  });

  test('a `#` comment ends at the next `;` on Nix 2.8', () => {
    assert.deepEqual(uris(parse28('a #c ; b')), ['ssh://a', 'ssh://b']);
  });

  test('`#` cuts the entry wherever it is, even inside a column', () => {
    const m = only(parse28('a#c x86_64-darwin'));
    assert.equal(m.storeUri, 'ssh://a');
    assert.deepEqual(m.systems, ['x86_64-linux']);
    assert.equal(m.row, 'a');
  });

  test('a comment after leading spaces leaves an entry of spaces: an error on 2.8', () => {
    const parsed = parse28('a\n #c');
    assert.deepEqual(codes(parsed), ['empty-entry']);
    assert.equal(parsed.problems[0]!.nixMessage?.endsWith("a row: ' '"), true);
  });

  test('a comment at the start of an entry is skipped', () => {
    const parsed = parse28('#foo\na');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(
      parsed.entries.map((e) => e.kind),
      ['comment', 'machine'],
    );
  });

  test('entries are not trimmed: the row Nix quotes keeps leading and trailing spaces', () => {
    const parsed = parse28(' a - - x ');
    assert.equal(
      parsed.problems[0]!.nixMessage,
      "bad machine specification: failed to convert column #3 in a row: ' a - - x ' to 'unsigned int'",
    );
  });

  test('`@file` is an include only at the very start of an entry; after a space it is a host name', () => {
    const parsed = parse28('  @/etc/nix/other', { ...local, readFile: () => 'b' });
    assert.deepEqual(parsed.includes, []);
    assert.deepEqual(uris(parsed), ['@/etc/nix/other']); // has a `/`, so no ssh:// in front
  });

  test('columns are separated by spaces, tabs and carriage returns', () => {
    const m = only(parse28('a\tx86_64-darwin \t - 3\r'));
    assert.deepEqual(m.systems, ['x86_64-darwin']);
    assert.equal(m.maxJobs, 3);
  });
});

describe('splitting entries on Nix 2.29 and later', () => {
  test('an entry of only spaces is skipped', () => {
    const parsed = parseBuilders('a ; ; b', nix2_29, local);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(uris(parsed), ['ssh://a', 'ssh://b']);
  });

  test('a `#` comment runs to the end of the line, over `;`', () => {
    assert.deepEqual(uris(parseBuilders('a #c ; b\nd', nix2_29, local)), ['ssh://a', 'ssh://d']);
  });

  test('entries are trimmed, so `@file` and `#` count after spaces', () => {
    const parsed = parseBuilders('  @/m ;  #c', nix2_29, { ...local, readFile: files({ '/m': 'b' }) });
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(uris(parsed), ['ssh://b']);
    assert.equal(parsed.includes[0]!.path, '/m');
  });

  test('the row Nix quotes is the trimmed entry', () => {
    const parsed = parseBuilders('  a - - x  ', nix2_29, local);
    assert.equal(parsed.problems[0]!.nixMessage?.includes("a row: 'a - - x' to"), true);
  });
});

describe('defaults and unset columns', () => {
  test('a host alone: local system, no key, 1 job, speed 1, no features, no host key', () => {
    const m = only(parse28('builder'));
    assert.deepEqual(
      {
        storeUri: m.storeUri,
        systems: m.systems,
        usesLocalSystem: m.usesLocalSystem,
        sshKey: m.sshKey,
        maxJobs: m.maxJobs,
        speedFactor: m.speedFactor,
        supportedFeatures: m.supportedFeatures,
        mandatoryFeatures: m.mandatoryFeatures,
        publicHostKey: m.publicHostKey,
        valid: m.valid,
      },
      {
        storeUri: 'ssh://builder',
        systems: ['x86_64-linux'],
        usesLocalSystem: true,
        sshKey: undefined,
        maxJobs: 1,
        speedFactor: 1,
        supportedFeatures: [],
        mandatoryFeatures: [],
        publicHostKey: undefined,
        valid: true,
      },
    );
  });

  test('`-` in any later column means the default', () => {
    const m = only(parse28('builder - - - - - - -'));
    assert.equal(m.usesLocalSystem, true);
    assert.equal(m.maxJobs, 1);
    assert.equal(m.publicHostKey, undefined);
    assert.equal(m.columns.publicHostKey?.isSet, false);
  });

  test('without a localSystem option, a machine with no systems column has an empty list', () => {
    const m = only(parseBuilders('builder', nix2_8Rules));
    assert.deepEqual(m.systems, []);
    assert.equal(m.usesLocalSystem, true);
  });

  test('a systems column of only commas is an empty list, not the local system', () => {
    const m = only(parse28('a ,,,'));
    assert.deepEqual(m.systems, []);
    assert.equal(m.usesLocalSystem, false);
  });
});

describe('systems and features', () => {
  test('systems keep their order and duplicates (Nix keeps a list); empty names are dropped', () => {
    assert.deepEqual(only(parse28('a x86_64-linux,,aarch64-linux,x86_64-linux')).systems, [
      'x86_64-linux',
      'aarch64-linux',
      'x86_64-linux',
    ]);
  });

  test('features are sets: sorted byte-wise, no duplicates, no empty names', () => {
    const m = only(parse28('a - - 1 - x,y,x,,a b,,,a'));
    assert.deepEqual(m.supportedFeatures, ['a', 'x', 'y']);
    assert.deepEqual(m.mandatoryFeatures, ['a', 'b']);
  });
});

describe('maxJobs (column 4) is an unsigned int', () => {
  for (const [text, value] of [
    ['0', 0],
    ['8', 8],
    ['+3', 3],
    ['007', 7],
    ['4294967295', 4294967295],
    ['00000000000000000004294967295', 4294967295],
  ] as const) {
    test(`${text} is ${value}`, () => assert.equal(only(parse28(`a - - ${text}`)).maxJobs, value));
  }

  for (const text of ['-0', '-1', '+', '3x', '0x10', '1.5', '4294967296', '+-3', '١', 'inf']) {
    test(`${text} is an error: max-jobs-not-integer, on the column, quoting Nix`, () => {
      const row = `a - - ${text}`;
      const parsed = parse28(row);
      assert.deepEqual(codes(parsed), ['max-jobs-not-integer']);
      const p = parsed.problems[0]!;
      assert.equal(at(row, p.span), text);
      assert.equal(
        p.nixMessage,
        `bad machine specification: failed to convert column #3 in a row: '${row}' to 'unsigned int'`,
      );
      assert.match(p.message, /maxJobs \(column 4\) must be a whole number/);
      assert.equal(only(parsed).valid, false);
    });
  }
});

describe('speedFactor (column 5)', () => {
  test('speedFactor 1.5 is an error on 2.8 and 1.5 on 2.24', () => {
    const row = 'a - - 1 1.5';
    const on28 = parse28(row);
    assert.deepEqual(codes(on28), ['speed-factor-invalid']);
    assert.equal(
      on28.problems[0]!.nixMessage,
      `bad machine specification: failed to convert column #4 in a row: '${row}' to 'unsigned int'`,
    );
    assert.match(on28.problems[0]!.message, /need Nix 2\.20/);
    const on224 = parseBuilders(row, nix2_24, local);
    assert.deepEqual(on224.problems, []);
    assert.equal(only(on224).speedFactor, 1.5);
  });

  test('speedFactor 0 becomes 1, on 2.8 and on 2.24', () => {
    assert.equal(only(parse28('a - - 1 0')).speedFactor, 1);
    assert.equal(only(parse28('a - - 1 +0')).speedFactor, 1);
    assert.equal(only(parseBuilders('a - - 1 0.0', nix2_24, local)).speedFactor, 1);
  });

  test('on 2.24 a speedFactor that is not a float is an error saying `float`', () => {
    const row = 'a - - 1 fast';
    const parsed = parseBuilders(row, nix2_24, local);
    assert.deepEqual(codes(parsed), ['speed-factor-invalid']);
    assert.equal(
      parsed.problems[0]!.nixMessage,
      `bad machine specification: failed to convert column #4 in a row: '${row}' to 'float'`,
    );
  });

  test('on 2.24 floats are read as C++ reads them: 1e3, .5, 2., +4', () => {
    for (const [text, value] of [
      ['1e3', 1000],
      ['.5', 0.5],
      ['2.', 2],
      ['+4', 4],
    ] as const) {
      assert.equal(only(parseBuilders(`a - - 1 ${text}`, nix2_24, local)).speedFactor, value, text);
    }
  });

  test('a negative speedFactor is an error: "unsigned int" on 2.8, "speed factor must be >= 0" on 2.24', () => {
    assert.match(parse28('a - - 1 -1').problems[0]!.nixMessage!, /to 'unsigned int'$/);
    const parsed = parseBuilders('a - - 1 -1', nix2_24, local);
    assert.deepEqual(codes(parsed), ['speed-factor-invalid']);
    assert.equal(parsed.problems[0]!.nixMessage, 'speed factor must be >= 0');
  });
});

describe('public host key (column 8) must be base64 to Nix', () => {
  const fullLine =
    'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpTMk9ja01YUjJvSW9TNWh6YzQ5N2hQY1hJV2ZjeEpNOVJYdWxQTkZxWVUK';
  for (const key of [fullLine, 'AAAAC3NzaC1lZDI1NTE5AAAAIJS2', 'QUFB', 'A', 'A=!!', '====', 'ab+/']) {
    test(`${key.slice(0, 20)} is accepted (Nix stops at '=' and checks no length or padding)`, () => {
      const m = only(parse28(`a - - - - - - ${key}`));
      assert.equal(m.valid, true);
      assert.equal(m.publicHostKey, key);
    });
  }

  for (const [key, bad] of [
    ['bad!', '!'],
    ['ab.c', '.'],
    ['ssh-ed25519', '-'],
    ['é', 'é'],
  ] as const) {
    test(`${key} is an error: host-key-not-base64, naming '${bad}'`, () => {
      const row = `a - - - - - - ${key}`;
      const parsed = parse28(row);
      assert.deepEqual(codes(parsed), ['host-key-not-base64']);
      const p = parsed.problems[0]!;
      assert.equal(at(row, p.span), key);
      // Nix 2.8 prints the character as '' (its formatter drops it).
      assert.equal(
        p.nixMessage,
        `bad machine specification: a column #7 in a row: '${row}' is not valid base64 string: error: invalid character in Base64 string: ''`,
      );
      assert.ok(p.message.includes(`'${bad}'`));
      assert.match(p.message, /base64 -w0/);
    });
  }
});

describe('columns and spans', () => {
  test('every column has its text and exact span; sshKey and host key are the column texts', () => {
    const text = 'x\nnix@b\taarch64-linux /k  4 2 kvm big QUFB extra more';
    const m = only(parse28(text.split('\n')[1]!)); // offsets relative to the row alone
    const row = text.split('\n')[1]!;
    assert.equal(at(row, m.columns.storeUri.span), 'nix@b');
    assert.equal(at(row, m.columns.systems!.span), 'aarch64-linux');
    assert.equal(at(row, m.columns.sshKey!.span), '/k');
    assert.equal(at(row, m.columns.maxJobs!.span), '4');
    assert.equal(at(row, m.columns.speedFactor!.span), '2');
    assert.equal(at(row, m.columns.supportedFeatures!.span), 'kvm');
    assert.equal(at(row, m.columns.mandatoryFeatures!.span), 'big');
    assert.equal(at(row, m.columns.publicHostKey!.span), 'QUFB');
    assert.deepEqual(
      m.extraColumns.map((c) => at(row, c.span)),
      ['extra', 'more'],
    );
    assert.equal(m.sshKey, '/k');
    assert.equal(m.publicHostKey, 'QUFB');
  });

  test('spans are offsets into the whole text, on later lines too', () => {
    const text = 'a\n\nb x86_64-darwin - 2';
    const parsed = parse28(text);
    const b = parsed.machines[1]!;
    assert.equal(at(text, b.rowSpan), 'b x86_64-darwin - 2');
    assert.equal(at(text, b.columns.maxJobs!.span), '2');
  });

  test('extra columns after the eighth are kept and ignored (any value is fine)', () => {
    const m = only(parse28('a - - - - - - - 1.5 bad!'));
    assert.equal(m.valid, true);
    assert.deepEqual(
      m.extraColumns.map((c) => c.text),
      ['1.5', 'bad!'],
    );
  });

  test('entries list machines, includes, comments and blanks in text order, with spans', () => {
    const text = 'a #x\n@/m; ;#y';
    const parsed = parse28(text);
    assert.deepEqual(
      parsed.entries.map((e) => [e.kind, at(text, e.span)]),
      [
        ['machine', 'a '],
        ['comment', '#x'],
        ['include', '@/m'],
        ['blank', ' '],
        ['comment', '#y'],
      ],
    );
  });
});

describe('@file includes', () => {
  test('an included file’s machines come in its place, each with the file it is in and the @ entry that led there', () => {
    const text = 'a\n@/etc/nix/more\nd';
    const parsed = parse28(text, { ...local, readFile: files({ '/etc/nix/more': 'b\nc x86_64-darwin' }) });
    assert.deepEqual(uris(parsed), ['ssh://a', 'ssh://b', 'ssh://c', 'ssh://d']);
    const c = parsed.machines[2]!;
    assert.equal(c.file, '/etc/nix/more');
    assert.equal(at('b\nc x86_64-darwin', c.columns.systems!.span), 'x86_64-darwin');
    assert.equal(at(text, c.includedVia), '@/etc/nix/more');
    const include = parsed.includes[0]!;
    assert.equal(include.status, 'read');
    assert.equal(at(text, include.pathSpan), '/etc/nix/more');
  });

  test('includes nest, and a nested file’s machines lead back to the top-level @ entry', () => {
    const text = '@/one';
    const parsed = parse28(text, { ...local, readFile: files({ '/one': 'a;@/two', '/two': 'b' }) });
    assert.deepEqual(uris(parsed), ['ssh://a', 'ssh://b']);
    assert.equal(parsed.machines[1]!.file, '/two');
    assert.equal(at(text, parsed.machines[1]!.includedVia), '@/one');
  });

  test('a missing @file is skipped silently', () => {
    const parsed = parse28('@/nonexistent\na', { ...local, readFile: files({}) });
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(uris(parsed), ['ssh://a']);
    assert.equal(parsed.includes[0]!.status, 'missing');
  });

  test('the path after @ is trimmed, a comment cut off, and `@` alone is a missing file', () => {
    const read: string[] = [];
    const readFile = (p: string) => {
      read.push(p);
      return undefined;
    };
    parse28('@ /m \t;@/n#c;@', { ...local, readFile });
    assert.deepEqual(read, ['/m', '/n']);
  });

  test('without readFile, includes are listed but not read', () => {
    const parsed = parse28('@/m');
    assert.equal(parsed.includes[0]!.status, 'not-read');
    assert.deepEqual(parsed.problems, []);
  });

  test('a file that exists but cannot be read is an error with the reader’s message (Nix fails)', () => {
    const text = '@/etc';
    const parsed = parse28(text, {
      ...local,
      readFile: () => {
        throw new Error('reading from file: Is a directory');
      },
    });
    assert.deepEqual(codes(parsed), ['include-unreadable']);
    assert.equal(parsed.problems[0]!.nixMessage, 'reading from file: Is a directory');
    assert.equal(at(text, parsed.problems[0]!.span), '@/etc');
    assert.equal(parsed.includes[0]!.status, 'unreadable');
  });

  test('a reader that throws something that is not an Error is still reported, not thrown', () => {
    const parsed = parse28('@/x', {
      readFile: () => {
        throw 'boom';
      },
    });
    assert.deepEqual(codes(parsed), ['include-unreadable']);
  });

  test('a file that includes itself is an error: include-cycle (Nix overflows its stack)', () => {
    const text = '@/loop';
    const parsed = parse28(text, { ...local, readFile: files({ '/loop': 'a\n@/loop' }) });
    assert.deepEqual(codes(parsed), ['include-cycle']);
    const p = parsed.problems[0]!;
    assert.equal(p.nixMessage, 'stack overflow (possible infinite recursion)');
    assert.equal(at(text, p.span), '@/loop'); // shown on the include of the parsed text
    assert.equal(p.file, '/loop');
    assert.deepEqual(p.fileSpan, { start: 2, end: 8 });
  });

  test('the parsed text’s own path counts: a machines file including itself is a cycle', () => {
    const parsed = parse28('@/etc/nix/machines', { ...local, path: '/etc/nix/machines', readFile: files({}) });
    assert.deepEqual(codes(parsed), ['include-cycle']);
  });

  test('the same file included twice is not a cycle', () => {
    const parsed = parse28('@/m;@/m', { ...local, readFile: files({ '/m': 'a' }) });
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(uris(parsed), ['ssh://a', 'ssh://a']);
  });

  test('a problem inside an included file is placed on the including @ entry, with the file and its span', () => {
    const text = 'a\n@/m';
    const parsed = parse28(text, { ...local, readFile: files({ '/m': 'b - - x' }) });
    assert.deepEqual(codes(parsed), ['max-jobs-not-integer']);
    const p = parsed.problems[0]!;
    assert.equal(at(text, p.span), '@/m');
    assert.equal(p.file, '/m');
    assert.equal(at('b - - x', p.fileSpan), 'x');
    assert.match(p.message, /^In \/m: /);
  });
});

describe('problems', () => {
  test('include problems come first (Nix expands every include before reading a machine), then rows in order', () => {
    const parsed = parse28('a - - x\n@/d\nb - - y', {
      ...local,
      readFile: () => {
        throw new Error('reading from file: Is a directory');
      },
    });
    assert.deepEqual(codes(parsed), ['include-unreadable', 'max-jobs-not-integer', 'max-jobs-not-integer']);
  });

  test('within a row: maxJobs, speedFactor, host key, then (on 2.20+) a negative speedFactor, as Nix checks them', () => {
    assert.deepEqual(codes(parse28('a - - x y - - !')), [
      'max-jobs-not-integer',
      'speed-factor-invalid',
      'host-key-not-base64',
    ]);
    const parsed = parseBuilders('a - - 1 -2 - - !', nix2_24, local);
    assert.deepEqual(
      parsed.problems.map((p) => p.nixMessage?.slice(0, 30)),
      ['bad machine specification: a c', 'speed factor must be >= 0'],
    );
  });

  test('every problem in this file is an error, and every message says what to do', () => {
    const parsed = parse28('- a; ;b - - x 1.5 - - é');
    assert.ok(parsed.problems.length >= 4);
    for (const p of parsed.problems) {
      assert.equal(p.severity, 'error');
      assert.ok(p.nixMessage !== undefined && p.message.includes(p.nixMessage), p.message);
      assert.ok(p.message.length > p.nixMessage.length + 20, p.message);
    }
  });

  test('an empty text has no entries, no machines and no problems', () => {
    assert.deepEqual(parse28(''), { entries: [], machines: [], includes: [], problems: [] });
  });
});
