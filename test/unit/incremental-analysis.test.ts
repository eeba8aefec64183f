// The language server reads again only the lines an edit changed (model/lineMemo.ts): after
// every edit of a random sequence, over generated machines files (includes, comments, `;`,
// blank entries, bad columns, duplicates) and on each rule set (Nix 2.8, 2.26, 2.34), the
// analysis with the document's memo must be exactly the analysis from scratch: the same
// entries, machines, includes and problems, to the last span and message. Twice: with the
// memo alone (every line's warnings worked out again), and as the server runs it, with the
// files' memo too (context/watchedFiles.ts: a line's warnings, SSH keys and all, kept).
// Replay a failure with INCREMENTAL_SEED=<seed> (printed when it fails).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { analyze, analyzeInSteps, lineMemo, type Analysis } from '../../server/src/language/analysis';
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
      const generated = generateBuildersCase(rng, { dir });
      for (const [file, content] of Object.entries(generated.files)) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
      const another = () => generateBuildersCase(rng, { dir: join(dir, 'unwritten') }).text;
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
