// Owns "which builders are there": lists them on request, watches the files they come from,
// and tells the client when they changed so the view follows edits.
import { fileURLToPath } from 'node:url';
import type { Connection, WorkspaceFolder } from 'vscode-languageserver';
import { buildersChangedNotification, type BuildersList } from '../protocol';
import type { ServerContext } from '../context/serverContext';
import { confSources } from './configChain';
import { effectiveBuilders, type EffectiveBuilders } from './effectiveBuilders';
import { SourceWatcher } from './watchSources';
import { DeclaredBuilders } from '../nixModules/declaredBuilders';
import type { NixEvaluator } from '../nixModules/evaluation';

export class BuilderList {
  private folders: string[] = [];
  private current: EffectiveBuilders | undefined;
  private readonly watcher = new SourceWatcher(() => {
    this.changed();
    this.onDisk();
  });
  private readonly declared = new DeclaredBuilders();

  constructor(
    private readonly connection: Connection,
    private readonly context: ServerContext,
    private readonly evaluator: NixEvaluator,
    /** A file the builders come from changed on disk (e.g. /etc/nix/machines after a rebuild): the .nix documents compare again. */
    private readonly onDisk: () => void = () => {},
  ) {}

  setWorkspaceFolders(folders: WorkspaceFolder[] | null | undefined): void {
    this.folders = (folders ?? []).filter((f) => f.uri.startsWith('file:')).map((f) => fileURLToPath(f.uri));
  }

  /** The builders now, read afresh from disk (the declared ones: only the .nix files that changed). */
  async refresh(): Promise<EffectiveBuilders> {
    const { target } = await this.context.nixHere();
    const current = effectiveBuilders(target, this.folders);
    // Evaluated only in a trusted workspace, by the evaluator the editor's documents use.
    const evaluator = this.context.trusted ? this.evaluator : undefined;
    current.sources.push(
      ...(await this.declared.sources(target, this.folders, current.builders, evaluator, current.machinesFile.path)),
    );
    this.current = current;
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

  /** The machines lines the workspace's other .nix files declare, for the editor's "rebuild to apply". */
  declaredLinesExcept(file: string): Promise<Set<string>> {
    return this.declared.linesExcept(file);
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
