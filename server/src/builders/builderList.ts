// Owns "which builders are there": lists them on request, watches the files they come from,
// and tells the client when they changed so the view follows edits.
import { fileURLToPath } from 'node:url';
import type { Connection, WorkspaceFolder } from 'vscode-languageserver';
import { buildersChangedNotification, type BuildersList } from '../protocol';
import type { ServerContext } from '../context/serverContext';
import { confSources } from './configChain';
import { effectiveBuilders, type EffectiveBuilders } from './effectiveBuilders';
import { SourceWatcher } from './watchSources';

export class BuilderList {
  private folders: string[] = [];
  private current: EffectiveBuilders | undefined;
  private readonly watcher = new SourceWatcher(() => this.changed());

  constructor(
    private readonly connection: Connection,
    private readonly context: ServerContext,
  ) {}

  setWorkspaceFolders(folders: WorkspaceFolder[] | null | undefined): void {
    this.folders = (folders ?? []).filter((f) => f.uri.startsWith('file:')).map((f) => fileURLToPath(f.uri));
  }

  /** The builders now, read afresh from disk. */
  async refresh(): Promise<EffectiveBuilders> {
    this.current = effectiveBuilders((await this.context.nixHere()).target, this.folders);
    const files = new Set<string>(confSources().flatMap((s) => (s.path ? [s.path] : [])));
    for (const source of this.current.sources) {
      if (source.file) files.add(source.file);
      for (const machine of source.machines) if (machine.location) files.add(machine.location.file);
    }
    this.watcher.watchFiles(files);
    return this.current;
  }

  async list(): Promise<BuildersList> {
    const [current, here] = await Promise.all([this.refresh(), this.context.nixHere()]);
    return {
      sources: current.sources,
      machinesFile: current.machinesFile,
      nix: here.target.describe,
      daemon: here.local.daemon,
    };
  }

  /** The last listing (or a fresh one), for probes and builds that name machines by id. */
  async builders(): Promise<EffectiveBuilders> {
    return this.current ?? this.refresh();
  }

  /** Something the builders come from changed (on disk, in the workspace, or the settings). */
  changed(): void {
    this.current = undefined;
    void this.connection.sendNotification(buildersChangedNotification);
  }

  dispose(): void {
    this.watcher.dispose();
  }
}
