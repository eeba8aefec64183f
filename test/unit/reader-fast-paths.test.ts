// The reader's fast paths (model/nixStrings.ts, machines.ts, lint/) must give exactly what the
// general paths give: plain whole numbers and one-item comma lists read without regular
// expressions, and a file's warnings merged line by line instead of sorted. Each is held
// against the rule as written out in full (Nix's, from libutil), over many generated texts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commaList, commaSet, readUnsignedInt } from '../../server/src/model/nixStrings';
import { analyze, analyzeInSteps, lineMemo } from '../../server/src/language/analysis';
import { nixTarget } from '../../server/src/context/target';
import { makeRng } from '../helpers/prng';
import { parseBuilders } from '../../server/src/model/machines';
import { lintMissingColumn, missingColumnByShapes } from '../../server/src/model/lint/missingColumn';
import { nix2_8, rulesFor } from '../../server/src/model/nixVersion';

/** Nix's `string2Int<unsigned int>` as boost reads it: optional `+`, digits only, at most 2^32 - 1. */
function unsignedIntAsWritten(text: string): number | undefined {
  if (!/^\+?[0-9]+$/.test(text)) return undefined;
  const value = Number(text.replace(/^\+/, ''));
  return value <= 4294967295 ? value : undefined;
}

test('a whole number read on the fast path is what the full rule reads, for every short text of digits and near-digits', () => {
  const alphabet = ['0', '1', '7', '9', '+', '-', '.', 'x', ' ', '٣', '/', ':'];
  const rng = makeRng(1404);
  const texts = ['', '0', '007', '+3', '-0', '+', '999999999', '4294967295', '4294967296', '0000000001', '12345678901'];
  for (let i = 0; i < 20_000; i++) {
    let text = '';
    for (let n = rng.int(12); n > 0; n--) text += alphabet[rng.int(alphabet.length)];
    texts.push(text);
  }
  for (const text of texts) assert.equal(readUnsignedInt(text), unsignedIntAsWritten(text), JSON.stringify(text));
});

test('a comma list of one item or none is what splitting gives', () => {
  for (const text of ['', 'kvm', ',', 'a,', ',a', 'a,,b', 'b,a,b', '𝔘,\ue000']) {
    const items = text.split(',').filter((s) => s !== '');
    assert.deepEqual(commaList(text), items, text);
    assert.deepEqual(new Set(commaSet(text)), new Set(items), text);
    assert.equal(commaSet(text).length, new Set(items).size, text);
  }
});

test('with several warnings on every line, out of column order, and duplicates, the memo gives the plain analysis', async () => {
  const target = nixTarget('2.34.8', {
    version: undefined,
    versionText: undefined,
    system: 'x86_64-linux',
    daemon: false,
    keyHome: '/home/user',
  });
  const lines = ['# many warnings'];
  for (let i = 0; i < 300; i++) {
    // Column 3's missing key is found after column 2's unknown system and before column 8's
    // host key: each line's warnings come out of position order; every third URI is a duplicate.
    const host = i % 3 === 0 ? 'builder-0' : `builder-${i}`;
    lines.push(`ssh://${host} x86_64-lnux,aarch64-linx /nonexistent/key-${i} 0 0 big_parallel kvm QUFB; h${i} -`);
  }
  let text = lines.join('\n');
  const memo = lineMemo();
  for (let edit = 0; edit < 6; edit++) {
    const mine = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, memo);
    const plain = analyze(text, 'nix-machines', undefined, target);
    assert.deepEqual(mine.problems, plain.problems, `after edit ${edit}`);
    // The warnings (after the parser's errors) are in text order.
    const warnings = mine.problems.filter((p) => p.severity !== 'error');
    assert.ok(warnings.length > 600, `${warnings.length} warnings`);
    for (let i = 1; i < warnings.length; i++)
      assert.ok(warnings[i - 1]!.span.start <= warnings[i]!.span.start, 'in text order');
    const at = text.indexOf('\n', 1 + ((edit * 4999) % (text.length - 1)));
    text = edit % 2 === 0 ? `${text.slice(0, at)}\nssh://builder-0 x86_64-lnux${text.slice(at)}` : text.slice(60);
  }
});

test('the missing-column check skips only lines where working out every shape finds nothing', () => {
  // Values of every shape and the edges between them: empty comma items, `builtin`, paths,
  // fractions, short base64 that is a word, a host key line and a bare key blob.
  const values = [
    '-',
    'x86_64-linux',
    'builtin',
    'x86_64-linux,',
    ',kvm',
    'kvm',
    'big-parallel',
    'gccarch-x',
    '4',
    '0',
    '1.5',
    '.5',
    '/k',
    '~/k',
    './k',
    'k',
    'kvm,x86_64-linux',
    'x86_64-linux,builtin',
    '007',
    '+3',
    'QUFB',
    'kvm,,',
    'i686-linux,aarch64-darwin',
    'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpTMk9ja01YUjJvSW9TNWh6YzQ5N2hQY1hJV2ZjeEpNOVJYdWxQTkZxWVUgcm9vdEBidWlsZGVyCg==',
    'AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU',
  ];
  const rng = makeRng(2614);
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const columns = ['ssh://h'];
    for (let n = rng.int(9); n > 0; n--) columns.push(values[rng.int(values.length)]!);
    lines.push(columns.join(' '));
  }
  let found = 0;
  for (const rules of [rulesFor(nix2_8), rulesFor({ major: 2, minor: 34, patch: 8 })]) {
    for (const machine of parseBuilders(lines.join('\n'), rules).machines) {
      const full = missingColumnByShapes(machine);
      found += full.length;
      assert.deepEqual(lintMissingColumn(machine), full, machine.row);
    }
  }
  assert.ok(found > 1000, `${found} lines with a column missing`);
});
