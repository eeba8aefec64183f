// Machines files in the open workspace folders (`machines`, `*.machines`): the view shows them
// next to what Nix reads, so a file being prepared can be probed before it is installed.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const skipped = new Set(['node_modules', '.git', 'dist', 'out', '.vscode-test', 'result', '.direnv']);

const isMachinesFile = (name: string) => name === 'machines' || name.endsWith('.machines');

/** Every machines file (or other file `matches` names) under `folder`, at most `depth` folders down and `limit` files in all. */
export function findMachinesFiles(folder: string, depth = 4, limit = 50, matches = isMachinesFile): string[] {
  const found: string[] = [];
  const walk = (dir: string, level: number) => {
    if (found.length >= limit) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable folders are not ours to report
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (found.length >= limit) return;
      if (entry.isDirectory()) {
        if (level < depth && !skipped.has(entry.name) && !entry.name.startsWith('.'))
          walk(join(dir, entry.name), level + 1);
      } else if (entry.isFile() && matches(entry.name)) {
        found.push(join(dir, entry.name));
      }
    }
  };
  walk(folder, 0);
  return found;
}
