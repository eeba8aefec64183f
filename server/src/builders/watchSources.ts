// Tells when a file the builders come from changes on disk, also outside the workspace
// (/etc/nix/nix.conf, /etc/nix/machines, ~/.config/nix/nix.conf): watches their folders, since
// editors and package managers replace files rather than write them in place.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export class SourceWatcher {
  private watchers = new Map<string, FSWatcher>();
  private files = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onChange: () => void,
    private readonly debounceMs = 300,
  ) {}

  /** Watches exactly these files from now on (their folders, filtered by name). */
  watchFiles(files: Iterable<string>): void {
    this.files = new Set(files);
    const folders = new Set([...this.files].map((file) => dirname(file)));
    for (const [folder, watcher] of this.watchers) {
      if (!folders.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => {
          if (
            name === null ||
            [...this.files].some((file) => dirname(file) === folder && basename(file) === name.toString())
          )
            this.changed();
        });
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(folder);
        });
        this.watchers.set(folder, watcher);
      } catch {
        // The folder does not exist (yet): nothing there to watch.
      }
    }
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onChange, this.debounceMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
