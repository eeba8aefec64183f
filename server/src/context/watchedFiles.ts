// What the language server read of the files a machines file points at (`@file` includes, the
// SSH keys of column 3), kept until the file changes on disk, so a keystroke never reads a file
// again. Each file's directory is watched (fs.watch, inotify on Linux: a file that does not
// exist yet can be created, and most keys live in ~/.ssh, outside any workspace), and the
// client's `workspace/didChangeWatchedFiles` forgets everything too. A file whose directory
// cannot be watched is read every time, as before: nothing is kept that nothing would forget.
// Anything kept from what was read (lineMemo.ts keeps a line's warnings) is kept with the
// `generation` it saw, which changes whenever something is forgotten or could not be kept.
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { KeyFileMemo } from '../model/lint/sshKey';
import { readFileAsNixDoes, readTextOrUndefined } from './readFile';

/** Directories watched at most: past this, files are read every time (no descriptor is leaked per keystroke). */
const maxWatchedDirectories = 256;

type Kept = { value: unknown } | { error: unknown };

export class WatchedFiles implements KeyFileMemo {
  private kept = new Map<string, Kept>();
  /** For each watched directory: its watcher, and the keys kept per file name in it. */
  private readonly directories = new Map<string, { watcher: FSWatcher; names: Map<string, Set<string>> }>();
  private changes = 0;
  private pending: NodeJS.Timeout | undefined;
  /** How many times a file was read (for the tests: many edits, one read). */
  reads = 0;

  /** `changed` is called (once per burst of events) when a file something was read from changed. */
  constructor(private readonly changed: () => void = () => {}) {}

  get generation(): number {
    return this.changes;
  }

  remember<T>(key: string, path: string, read: () => T): T {
    const found = this.kept.get(key);
    if (found !== undefined) {
      if ('error' in found) throw found.error;
      return found.value as T;
    }
    this.reads++;
    let kept: Kept;
    try {
      kept = { value: read() };
    } catch (error) {
      kept = { error };
    }
    if (this.watch(key, resolve(path))) this.kept.set(key, kept);
    // Not kept, so not forgotten either: what was worked out from it (a line's warnings) is stale at once.
    else this.changes++;
    if ('error' in kept) throw kept.error;
    return kept.value as T;
  }

  /** `readFileAsNixDoes`, kept until the file changes. */
  readFile(path: string): string | undefined {
    return this.remember(`file ${path}`, path, () => readFileAsNixDoes(path));
  }

  /** `readTextOrUndefined`, kept until the file changes. */
  readText(path: string): string | undefined {
    return this.remember(`text ${path}`, path, () => readTextOrUndefined(path));
  }

  /** Files may have changed (the client's watcher said so): everything is read again. */
  forget(): void {
    if (this.kept.size === 0) return;
    this.kept = new Map();
    for (const { names } of this.directories.values()) names.clear();
    this.changes++;
  }

  /** Stops every watcher (the server is shutting down). */
  close(): void {
    clearTimeout(this.pending);
    for (const { watcher } of this.directories.values()) watcher.close();
    this.directories.clear();
    this.kept = new Map();
  }

  /**
   * Watches the file's directory, or the nearest one that exists (a key in ~/.ssh before
   * ~/.ssh is made): the name watched is the path's first part below it.
   */
  private watch(key: string, path: string): boolean {
    let dir = dirname(path);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    let watched = this.directories.get(dir);
    if (watched === undefined) {
      if (this.directories.size >= maxWatchedDirectories) return false;
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, { persistent: false }, (_event, name) => this.touched(dir, name));
      } catch {
        return false; // not ours to watch: read every time
      }
      watcher.on('error', () => {
        this.touched(dir, null);
        watcher.close();
        this.directories.delete(dir);
      });
      watched = { watcher, names: new Map() };
      this.directories.set(dir, watched);
    }
    const name = relative(dir, path).split(sep)[0]!;
    let keys = watched.names.get(name);
    if (keys === undefined) watched.names.set(name, (keys = new Set()));
    keys.add(key);
    return true;
  }

  private touched(dir: string, name: string | Buffer | null): void {
    const watched = this.directories.get(dir);
    const names = watched === undefined ? [] : name === null ? [...watched.names.keys()] : [String(name)];
    let forgot = false;
    for (const n of names) {
      for (const key of watched?.names.get(n) ?? []) forgot = this.kept.delete(key) || forgot;
      watched?.names.delete(n);
    }
    if (!forgot) return;
    this.changes++;
    // An editor's save is several events (write, rename, chmod): one recheck for them all.
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.changed();
    }, 20);
    this.pending.unref();
  }
}
