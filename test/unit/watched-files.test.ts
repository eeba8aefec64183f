// The files a machines file points at (SSH keys in column 3, `@file` includes) are read once
// while the document is edited, and read again when they change on disk
// (context/watchedFiles.ts): real files in a temporary directory, changed by writing them, the
// change seen through the real fs watcher. Counts the reads; never mocks the file system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeInSteps, lineMemo } from '../../server/src/language/analysis';
import { nixTarget } from '../../server/src/context/target';
import { WatchedFiles } from '../../server/src/context/watchedFiles';

const target = nixTarget('2.26.3', {
  version: undefined,
  versionText: undefined,
  system: 'x86_64-linux',
  daemon: false,
  keyHome: '/home/user',
});

/**
 * A WatchedFiles whose change callback can be awaited. The watcher keeps no process alive (the
 * server's lives on its connection), so the wait holds a timer: it also says what never came.
 */
function watchedFiles(): { files: WatchedFiles; changed: () => Promise<void> } {
  let wake: (() => void) | undefined;
  const files = new WatchedFiles(() => wake?.());
  const changed = () =>
    new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('the watcher never said the file changed')), 30_000);
      wake = () => {
        clearTimeout(guard);
        resolve();
      };
    });
  return { files, changed };
}

const codes = (problems: { code: string }[]) => problems.map((p) => p.code);

test('an SSH key and an @file are read once over many edits, and again when they change on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watched-files-'));
  const { files, changed } = watchedFiles();
  try {
    const key = join(dir, 'builder-key');
    const included = join(dir, 'more.machines');
    writeFileSync(included, 'ssh://included x86_64-linux\n');
    const memo = lineMemo();
    const text = (i: number) =>
      `ssh://a${i} x86_64-linux ${key} 1\nssh://b x86_64-linux ${key} 2\n@${included}\nssh://c${i} x86_64-linux ${key}\n`;
    let analysis;
    for (let i = 0; i < 50; i++)
      analysis = await analyzeInSteps(text(i), 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.deepEqual(codes(analysis!.problems), ['ssh-key-missing', 'ssh-key-missing', 'ssh-key-missing']);
    assert.equal(files.reads, 2, 'the key file once, the included file once, for 50 versions');

    // The key appears (not a private key): the watcher forgets it, the next analysis says so.
    const seen = changed();
    writeFileSync(key, 'not a key\n');
    chmodSync(key, 0o600);
    await seen;
    analysis = await analyzeInSteps(text(50), 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.deepEqual(codes(analysis.problems), ['ssh-key-not-private', 'ssh-key-not-private', 'ssh-key-not-private']);
    assert.equal(files.reads, 3, 'only the changed key was read again');

    // The included file changes: its new machine is there, read once more.
    const again = changed();
    writeFileSync(included, 'ssh://included x86_64-linux\nssh://b x86_64-linux\n');
    await again;
    analysis = await analyzeInSteps(text(51), 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.deepEqual(
      analysis.machines.map((m) => m.storeUri),
      ['ssh://a51', 'ssh://b', 'ssh://included', 'ssh://b', 'ssh://c51'],
    );
    assert.ok(codes(analysis.problems).includes('duplicate-machine'), 'the new line from the file is checked');
    assert.equal(files.reads, 4);
  } finally {
    files.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key in a directory that does not exist yet is seen when the directory and the key are made; forget() reads all again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watched-files-'));
  const { files, changed } = watchedFiles();
  try {
    const key = join(dir, 'ssh', 'key');
    const text = `ssh://a x86_64-linux ${key}\nssh://b x86_64-linux ${key}\n`;
    const memo = lineMemo();
    for (let i = 0; i < 3; i++)
      await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.equal(files.reads, 1);
    const seen = changed();
    mkdirSync(join(dir, 'ssh'));
    await seen;
    let analysis = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.deepEqual(codes(analysis.problems), ['ssh-key-missing', 'ssh-key-missing']);
    assert.equal(files.reads, 2, 'read again once its directory appeared, now watching that directory');
    const made = changed();
    writeFileSync(key, 'not a key\n', { mode: 0o600 });
    await made;
    analysis = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.deepEqual(codes(analysis.problems), ['ssh-key-not-private', 'ssh-key-not-private']);
    assert.equal(files.reads, 3);

    const generation = files.generation;
    files.forget();
    assert.notEqual(files.generation, generation, 'what was kept with the lines is stale');
    analysis = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, memo, files);
    assert.deepEqual(codes(analysis.problems), ['ssh-key-not-private', 'ssh-key-not-private']);
    assert.equal(files.reads, 4);
  } finally {
    files.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
