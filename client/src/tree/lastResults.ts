// The last check of each builder, kept in the workspace's storage so a reload (which restarts
// the language server, and with it everything the server knew) still shows what the last check
// found, and when, until the next check replaces it. The client keeps them because VS Code gives
// it storage per workspace and the server has none: the server is a child process that starts
// afresh with each window.
import type * as vscode from 'vscode';
import type { MachineHealth } from '../../../server/src/protocol';

const key = 'nixBuilders.lastHealth';
/** Results older than this are not worth showing: the builder may be anything by now. */
const keepMs = 7 * 24 * 3600 * 1000;

export class LastResults {
  constructor(private readonly storage: vscode.Memento) {}

  /** The results saved by an earlier window, by machine id (never `probing` or `untrusted`). */
  restore(now = Date.now()): Map<string, MachineHealth> {
    const saved = this.storage.get<unknown>(key);
    const results = new Map<string, MachineHealth>();
    if (!Array.isArray(saved)) return results; // nothing saved, or something we no longer read
    for (const health of saved as MachineHealth[]) {
      if (
        typeof health?.id !== 'string' ||
        typeof health.at !== 'number' ||
        !Array.isArray(health.findings) ||
        now - health.at > keepMs
      )
        continue;
      results.set(health.id, health);
    }
    return results;
  }

  save(all: Iterable<MachineHealth>): Thenable<void> {
    return this.storage.update(
      key,
      [...all].filter((health) => health.status !== 'probing' && health.status !== 'untrusted'),
    );
  }
}

/** "5 min ago", for a result from an earlier window. */
export function age(at: number, now = Date.now()): string {
  const minutes = Math.round((now - at) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.round(hours / 24)} days ago`;
}
