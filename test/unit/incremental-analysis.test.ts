// The language server reads again only the lines an edit changed (model/lineMemo.ts): after
// every edit of a random sequence, over generated machines files (includes, comments, `;`,
// blank entries, bad columns, duplicates) and on each rule set (Nix 2.8, 2.26, 2.34), the
// analysis with the document's memo must be exactly the analysis from scratch: the same
// entries, machines, includes and problems, to the last span and message. Twice: with the
// memo alone (every line's warnings worked out again), and as the server runs it, with the
// files' memo too (context/watchedFiles.ts: a line's warnings, SSH keys and all, kept).
// Replay a failure with INCREMENTAL_SEED=<seed> (printed when it fails). Then what the server
// publishes from the lines' kept problems and diagnostics (language/lineDiagnostics.ts), after
// each random edit of files with a warning on most lines (over the publish cap, with errors,
// `\r\n`, includes, lines added and removed), equals a publish of the text from scratch, order
// included: replay with INCREMENTAL_PUBLISH_SEED=<seed>.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic } from 'vscode-languageserver';
import { analyze, analyzeInSteps, lineMemo, type Analysis } from '../../server/src/language/analysis';
import {
  diagnosticsByLineToPublish,
  diagnosticsToPublish,
  maxPublishedDiagnostics,
} from '../../server/src/language/publishedDiagnostics';
import { fileIndex } from '../../server/src/context/positions';
import { readTextOrUndefined } from '../../server/src/context/readFile';
import { nixTarget, type NixTarget } from '../../server/src/context/target';
import { WatchedFiles } from '../../server/src/context/watchedFiles';
import { generateBuildersCase } from '../helpers/builders-generator';
import { makeRng, seedFrom, type Rng } from '../helpers/prng';

const local = (daemon: boolean) => ({
  version: undefined,
  versionText: undefined,
  system: 'x86_64-linux',
  daemon,
  keyHome: daemon ? '/root' : '/home/user',
});
const targets: NixTarget[] = [
  nixTarget('2.8', local(false)),
  nixTarget('2.26.3', local(true)),
  nixTarget('2.34.8', local(false)),
];

/** What an analysis says, without the target it was made for. */
function said(analysis: Analysis) {
  return {
    machines: analysis.machines,
    problems: analysis.problems,
    entries: analysis.builders?.entries,
    includes: analysis.builders?.includes,
  };
}

/** One edit such as a person makes: type or delete a few characters, add, remove, copy or move a line. */
function edit(rng: Rng, text: string, another: () => string): string {
  const lines = text.split('\n');
  const line = rng.int(lines.length);
  switch (rng.int(7)) {
    case 0: {
      const at = rng.int(text.length + 1);
      return (
        text.slice(0, at) + rng.pick([' ', '\n', ';', '#', '@', '-', 'x', '1', ',', '\t', 'ssh://a ']) + text.slice(at)
      );
    }
    case 1: {
      const at = rng.int(text.length + 1);
      return text.slice(0, at) + text.slice(at + 1 + rng.int(3));
    }
    case 2:
      lines.splice(line, 0, another());
      return lines.join('\n');
    case 3:
      lines.splice(line, 1);
      return lines.join('\n');
    case 4:
      lines.splice(rng.int(lines.length + 1), 0, lines[line]!); // the same line twice: a duplicate
      return lines.join('\n');
    case 5: {
      const [moved] = lines.splice(line, 1);
      lines.splice(rng.int(lines.length + 1), 0, moved!);
      return lines.join('\n');
    }
    default:
      lines[line] = another().split('\n')[0]!;
      return lines.join('\n');
  }
}

/** A generated case with its included files written into `dir`, and more lines of the kind for edits (including nothing written). */
function writtenCase(rng: Rng, dir: string) {
  const generated = generateBuildersCase(rng, { dir });
  for (const [file, content] of Object.entries(generated.files)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return { generated, another: () => generateBuildersCase(rng, { dir: join(dir, 'unwritten') }).text };
}

test('after each of 4 000 random edits, the incremental analysis equals the analysis from scratch', async () => {
  const seed = seedFrom('INCREMENTAL_SEED');
  const rng = makeRng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'incremental-'));
  const path = join(dir, 'machines');
  let step = '';
  try {
    for (let sequence = 0; sequence < 200; sequence++) {
      const memo = lineMemo();
      const kept = lineMemo();
      const files = new WatchedFiles();
      const { generated, another } = writtenCase(rng, dir);
      let text = generated.text;
      let target = rng.pick(targets);
      for (let i = 0; i < 20; i++) {
        if (rng.chance(0.05)) target = rng.pick(targets); // the nixVersion setting changed
        step = `sequence ${sequence}, edit ${i}, ${target.describe}, text ${JSON.stringify(text)}`;
        const incremental = await analyzeInSteps(text, 'nix-machines', path, target, async () => {}, memo);
        const fromScratch = said(analyze(text, 'nix-machines', path, target));
        assert.deepStrictEqual(said(incremental), fromScratch, step);
        const withFiles = await analyzeInSteps(text, 'nix-machines', path, target, async () => {}, kept, files);
        assert.deepStrictEqual(said(withFiles), fromScratch, `${step}, with the files' memo`);
        text = edit(rng, text, another);
      }
      files.close();
    }
  } catch (error) {
    console.error(`INCREMENTAL_SEED=${seed} (${step})`);
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an analysis stopped between its parse and its lint leaves the memo usable', async () => {
  const target = targets[0]!;
  const memo = lineMemo();
  const text = 'ssh://a x86_64-linux - 0\nssh://b - - 0\nssh://a\n';
  const stop = new Error('a newer version');
  await assert.rejects(
    analyzeInSteps(text, 'nix-machines', undefined, target, async () => Promise.reject(stop), memo),
    stop,
  );
  const edited = `# new first line\n${text}`;
  const incremental = await analyzeInSteps(edited, 'nix-machines', undefined, target, async () => {}, memo);
  assert.deepStrictEqual(said(incremental), said(analyze(edited, 'nix-machines', undefined, target)));
  assert.ok(
    incremental.problems.some((p) => p.code === 'max-jobs-zero'),
    'the moved machines keep their warnings',
  );
  assert.ok(
    incremental.problems.some((p) => p.code === 'duplicate-machine'),
    'duplicates are found across kept lines',
  );
});

/** A machines file of `lines` lines, most with a warning (a missing SSH key), some with an error, a duplicate, `\r\n`. */
function manyWarnings(rng: Rng, lines: number, dir: string, generated: string): string {
  const result: string[] = [];
  for (let i = 0; i < lines; i++) {
    const end = rng.chance(0.03) ? '\r' : '';
    // A lone `\r`: a line break to LSP, not to Nix.
    if (rng.chance(0.01)) result.push(`ssh://nix@cr${i} x86_64-linux\r${join(dir, 'missing', 'key')}\r1`);
    const roll = rng.next();
    if (roll < 0.8) result.push(`ssh://nix@b${i} x86_64-linux ${join(dir, 'missing', `key-${i % 7}`)} 1${end}`);
    else if (roll < 0.85)
      result.push(`ssh://nix@b${i} x86_64-linux - four${end}`); // max-jobs-not-integer
    else if (roll < 0.88)
      result.push(`ssh://nix@b${rng.int(i + 1)} x86_64-linux${end}`); // often a duplicate
    else if (roll < 0.92) result.push(`# a comment${end}`);
    else result.push(`ssh://nix@ok${i} x86_64-linux - 2${end}`);
  }
  result.splice(rng.int(result.length + 1), 0, generated); // includes, bad columns, `;`
  return result.join('\n');
}

/** The change the editor sends for an edit from `before` to `after`: the range between their common start and end. */
function rangedChange(document: TextDocument, after: string): TextDocument {
  const before = document.getText();
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let end = 0;
  while (
    end < before.length - start &&
    end < after.length - start &&
    before[before.length - 1 - end] === after[after.length - 1 - end]
  )
    end++;
  const range = { start: document.positionAt(start), end: document.positionAt(before.length - end) };
  return TextDocument.update(document, [{ range, text: after.slice(start, after.length - end) }], document.version + 1);
}

const severityRank = { error: 1, warning: 2, information: 3, hint: 4 } as const;

test('after each random edit of a file with a warning on most lines, the publish equals a publish from scratch, order included', async () => {
  const seed = seedFrom('INCREMENTAL_PUBLISH_SEED');
  const rng = makeRng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'incremental-publish-'));
  const path = join(dir, 'machines');
  const uri = `file://${path}`;
  let step = '';
  let overTheCap = 0;
  let kept = 0;
  try {
    for (let sequence = 0; sequence < 12; sequence++) {
      const memo = lineMemo();
      const files = new WatchedFiles();
      const { generated, another } = writtenCase(rng, dir);
      const target = rng.pick(targets);
      // Over the cap (1 000) most of the time, under it sometimes: each orders the publish its own way.
      const size = rng.chance(0.7) ? 1_100 + rng.int(300) : 50 + rng.int(300);
      let document = TextDocument.create(uri, 'nix-machines', 1, manyWarnings(rng, size, dir, generated.text));
      let last = new Set<Diagnostic>();
      for (let i = 0; i < 15; i++) {
        const text = document.getText();
        step = `sequence ${sequence}, edit ${i}, ${target.describe}`;
        const analysis = await analyzeInSteps(text, 'nix-machines', path, target, async () => {}, memo, files);
        const published = diagnosticsByLineToPublish(
          analysis.problemsByLine!,
          document,
          fileIndex((file) => files.readText(file)),
        );
        const problems = analyze(text, 'nix-machines', path, target).problems;
        const fresh = TextDocument.create(uri, 'nix-machines', 1, text);
        assert.deepStrictEqual(published, diagnosticsToPublish(problems, fresh, fileIndex(readTextOrUndefined)), step);
        // The cap's order said independently: Errors first, each severity in the text's order.
        const shown =
          problems.length <= maxPublishedDiagnostics
            ? problems
            : problems
                .map((p, at) => ({ p, at }))
                .sort((a, b) => severityRank[a.p.severity] - severityRank[b.p.severity] || a.at - b.at)
                .slice(0, maxPublishedDiagnostics)
                .map(({ p }) => p);
        assert.deepStrictEqual(
          published.slice(0, shown.length).map((d) => [d.code, d.range.start, d.message]),
          shown.map((p) => [p.code, fresh.positionAt(p.span.start), p.message]),
          `${step}: the order`,
        );
        if (problems.length > maxPublishedDiagnostics) overTheCap++;
        kept += published.filter((d) => last.has(d)).length;
        last = new Set(published);
        const lines = text.split('\n');
        // Or lines added or removed above most of the warnings: every line below gets a new number.
        if (rng.chance(0.5))
          lines.splice(rng.int(50), rng.int(3), ...(rng.chance(0.5) ? [another().split('\n')[0]!] : []));
        document = rangedChange(document, rng.chance(0.5) ? edit(rng, text, another) : lines.join('\n'));
      }
      files.close();
    }
    assert.ok(overTheCap > 0, 'some publishes were over the cap');
    assert.ok(kept > 0, "some lines' diagnostics were kept from the publish before");
  } catch (error) {
    console.error(`INCREMENTAL_PUBLISH_SEED=${seed} (${step})`);
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
