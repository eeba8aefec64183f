// The Remote Builders view: the builders Nix would use, grouped by where they come from, as the
// language server lists them. The server owns the knowledge; this class only renders it and
// refreshes (debounced) when the server says the files changed. With no machines at all the
// tree is empty and VS Code shows the `viewsWelcome` text of package.json.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { buildersChangedNotification, listBuildersRequest, type BuilderMachine, type BuildersList } from '../../../server/src/protocol';
import { machineItem, sourceItem, type Node } from './items';

export class MachinesTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private list: Promise<BuildersList | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly client: LanguageClient,
    /** Settles when the language server has started (or failed to). */
    private readonly ready: Promise<unknown>,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(client.onNotification(buildersChangedNotification, () => this.refreshSoon()));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return node.kind === 'source' ? sourceItem(node.source) : machineItem(node.machine);
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node?.kind === 'source') return node.source.machines.map((machine) => ({ kind: 'machine', machine, source: node.source }));
    if (node) return [];
    const list = await this.current();
    if (!list || list.sources.every((source) => source.machines.length === 0 && !source.error)) return [];
    return list.sources.filter((source) => source.machines.length > 0 || source.error).map((source) => ({ kind: 'source', source }));
  }

  /** The machine with this id in the last listing. */
  async machine(id: string): Promise<BuilderMachine | undefined> {
    const list = await this.current();
    return list?.sources.flatMap((source) => source.machines).find((machine) => machine.id === id);
  }

  private current(): Promise<BuildersList | undefined> {
    this.list ??= this.ready.then(() => this.client.sendRequest(listBuildersRequest)).then(
      (list) => list,
      (error: unknown) => {
        this.log.error(`Could not list the builders: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      },
    );
    return this.list;
  }

  refresh(): void {
    this.list = undefined;
    this.changed.fire(undefined);
  }

  /** Many file events arrive together (an editor saving, a package switch): refresh once. */
  refreshSoon(delayMs = 500): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
