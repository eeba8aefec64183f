// Fuzz with hostile files on a real disk, through the same reader and analysis the language
// server uses: `@/dev/zero`, FIFOs, a socket, a directory, a sparse file over the size cap,
// include cycles (a includes b includes a, in machines files and in nix.conf), a 40 000-entry
// include, a 100 000-line text, ESC/BEL/NUL bytes, very long lines, invalid UTF-8. The analysis
// must never throw, never hang (a FIFO opened would block this test forever), put every span
// inside its text, and publish a bounded list. Seeded and bounded so CI stays at a few seconds;
// replay a failure with HOSTILE_FUZZ_SEED=<seed> (printed when it fails).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze, type DocumentKind } from '../../server/src/language/analysis';
import { fileIndex } from '../../server/src/context/positions';
import { maxPublishedDiagnostics, diagnosticsToPublish } from '../../server/src/language/publishedDiagnostics';
import { readTextOrUndefined } from '../../server/src/context/readFile';
import { nixTarget } from '../../server/src/context/target';
import { problemSeverities, type Span } from '../../server/src/model/problem';
import { makeRng, seedFrom, type Rng } from '../helpers/prng';

const cases = 400;
let dir: string;
let socketServer: Server;
const files: Record<string, string> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-hostile-fuzz-'));
  const at = (name: string) => join(dir, name);
  execFileSync('mkfifo', [at('fifo')]);
  mkdirSync(at('directory'));
  // A cycle of machines files, and one of nix.confs.
  writeFileSync(at('a'), `ssh://a x86_64-linux\n@${at('b')}\n`);
  writeFileSync(at('b'), `ssh://b aarch64-linux\n@${at('a')}\n`);
  writeFileSync(at('a.conf'), `max-jobs = 1\ninclude ${at('b.conf')}\n`);
  writeFileSync(at('b.conf'), `include ${at('a.conf')}\nbuilders = @${at('a')}\n`);
  const wide: string[] = [];
  for (let i = 0; i < 40_000; i++) wide.push(`ssh://host-${i % 200} x86_64-linux - 4 1`);
  writeFileSync(at('wide'), `${wide.join('\n')}\n`);
  writeFileSync(at('controls'), 'ssh://\x1b[31mred\x1b[0m x86_64-linux\x07\nssh://nul\x00host x86_64-linux\n');
  writeFileSync(
    at('invalid-utf8'),
    Buffer.from([0x73, 0x73, 0x68, 0x3a, 0x2f, 0x2f, 0xff, 0xfe, 0x20, 0xc3, 0x28, 0x0a, 0xed, 0xa0, 0x80, 0x0a]),
  );
  writeFileSync(at('long-line'), `ssh://long x86_64-linux - 1 1 ${'big-parallel,'.repeat(20_000)}\n`);
  // Over the 16 MiB cap without writing 16 MiB: a sparse file.
  const fd = openSync(at('huge'), 'w');
  ftruncateSync(fd, 17 * 1024 * 1024);
  closeSync(fd);
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(at('socket'), resolve));
  for (const name of ['a', 'b', 'a.conf', 'b.conf', 'wide', 'controls', 'invalid-utf8', 'long-line'])
    files[at(name)] = readTextOrUndefined(at(name))!;
});

after(() => {
  socketServer.close();
  rmSync(dir, { recursive: true, force: true });
});

const target = nixTarget('2.8', { system: 'x86_64-linux', daemon: false, keyHome: '/nonexistent-home' } as Parameters<
  typeof nixTarget
>[1]);

function pieces(): string[] {
  const at = (name: string) => join(dir, name);
  const hostile = [
    '/dev/zero',
    '/dev/null',
    '/dev/urandom',
    at('fifo'),
    at('socket'),
    at('directory'),
    at('huge'),
    at('a'),
    at('controls'),
    at('invalid-utf8'),
    at('long-line'),
    at('missing'),
  ];
  return [
    ...hostile.map((p) => `@${p}`),
    ...hostile.map((p) => `include ${p}`),
    ...hostile.map((p) => `!include ${p}`),
    ...hostile.map((p) => `builders = @${p}`),
    `include ${at('a.conf')}`,
    'ssh://h x86_64-linux - 4 1',
    'ssh://h x86_64-linux - 4 1',
    'builders = ssh://h x86_64-linux; ssh://h',
    'max-jobs = four',
    'buidlers = x',
    '\x1b[2J',
    '\x07',
    '\x00',
    '\uD800',
    '\uFFFD\uFFFD',
    '😀',
    ';',
    '#',
    ' ',
    '\t',
    '\r',
  ];
}

function randomText(rng: Rng, all: string[]): string {
  const lines: string[] = [];
  const count = rng.int(12);
  for (let i = 0; i < count; i++) {
    let line = '';
    const parts = 1 + rng.int(3);
    for (let j = 0; j < parts; j++) line += (j > 0 ? rng.pick([' ', '', ';']) : '') + rng.pick(all);
    lines.push(line);
  }
  // Now and then the 40 000-entry include, a very long line, or the same line many times
  // (rare: each costs as much as hundreds of ordinary cases).
  if (rng.chance(0.01))
    lines.push(rng.pick([`@${join(dir, 'wide')}`, `builders = @${join(dir, 'wide')}`, `include ${join(dir, 'wide')}`]));
  if (rng.chance(0.02)) lines.push(`ssh://x ${'x86_64-linux,'.repeat(5_000 + rng.int(5_000))}`);
  if (rng.chance(0.01)) for (const line of Array<string>(2_000 + rng.int(3_000)).fill(rng.pick(all))) lines.push(line);
  return lines.join(rng.chance(0.9) ? '\n' : '\r\n');
}

function inside(label: string, text: string | undefined, span: Span | undefined): void {
  if (span === undefined) return;
  assert.ok(text !== undefined, `${label}: a span into an unknown file`);
  assert.ok(
    Number.isInteger(span.start) && 0 <= span.start && span.start <= span.end && span.end <= text.length,
    `${label}: span ${JSON.stringify(span)} outside a text of length ${text.length}`,
  );
}

function checkCase(text: string, kind: DocumentKind): number {
  const path = join(dir, kind === 'nix-conf' ? 'fuzz.conf' : 'fuzz.machines');
  const analysis = analyze(text, kind, path, target);
  for (const p of analysis.problems) {
    assert.equal(p.severity, problemSeverities[p.code], p.code);
    inside(`problem ${p.code}`, text, p.span);
    if (p.file !== undefined)
      inside(`problem ${p.code} in ${p.file}`, files[p.file] ?? readTextOrUndefined(p.file), p.fileSpan);
    assert.ok(p.message.length > 0);
  }
  const document = TextDocument.create('file:///fuzz', kind, 1, text);
  const diagnostics = diagnosticsToPublish(analysis.problems, document, fileIndex(readTextOrUndefined));
  assert.ok(diagnostics.length <= maxPublishedDiagnostics + 1, `${diagnostics.length} diagnostics published`);
  if (analysis.problems.length > maxPublishedDiagnostics)
    assert.equal(diagnostics[diagnostics.length - 1]!.code, 'too-many-problems');
  const errors = analysis.problems.filter((p) => p.severity === 'error').length;
  const shownErrors = diagnostics.filter((d) => d.severity === 1).length;
  assert.equal(shownErrors, Math.min(errors, maxPublishedDiagnostics), 'every Error is published first');
  return analysis.problems.length;
}

test(`${cases} hostile inputs on a real disk: no exception, no hang, spans inside, a bounded publish`, () => {
  const seed = seedFrom('HOSTILE_FUZZ_SEED');
  const rng = makeRng(seed);
  const all = pieces();
  let problems = 0;
  for (let i = 0; i < cases; i++) {
    let text = '';
    const kind: DocumentKind = i % 2 === 0 ? 'nix-machines' : 'nix-conf';
    try {
      text = randomText(rng, all);
      problems += checkCase(text, kind);
    } catch (e) {
      const why = e instanceof Error ? (e.stack ?? e.message) : String(e);
      assert.fail(
        `case ${i} failed (replay: HOSTILE_FUZZ_SEED=${seed}): ${why}\ninput: ${JSON.stringify(text.slice(0, 2000))}`,
      );
    }
  }
  // A document of 100 000 lines, once per run (the seed picks its kind: each costs a second).
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++)
    lines.push(rng.chance(0.5) ? `buidlers${i} = ssh://h${i}` : `ssh://h${i % 50} x86_64-linux`);
  problems += checkCase(lines.join('\n'), rng.pick(['nix-machines', 'nix-conf'] as const));
  assert.ok(problems > 0);
  console.log(`hostile fuzz: ${cases + 1} cases, ${problems} problems, 0 crashes (seed ${seed})`);
});

test('found by this fuzz: an error of `builders` in an included nix.conf is shown on the include', () => {
  const other = join(dir, 'other.conf');
  writeFileSync(other, 'builders = ssh://a x86_64-linux - four\n');
  const text = `max-jobs = 1\ninclude ${other}\n`;
  const analysis = analyze(text, 'nix-conf', join(dir, 'top.conf'), target);
  const error = analysis.problems.find((p) => p.code === 'max-jobs-not-integer');
  assert.ok(error, JSON.stringify(analysis.problems));
  assert.deepEqual(error.span, { start: 21, end: 21 + other.length });
  assert.equal(error.file, other);
  assert.equal(readTextOrUndefined(other)!.slice(error.fileSpan!.start, error.fileSpan!.end), 'four');
});
