// The Remote Builders view: the builders Nix would use, grouped by where they come from, with the
// health of each as the server's probes report it. The server owns the knowledge; this class only
// renders it, refreshes (debounced) when the server says the files changed, and updates items as
// probe results stream in. With no machines at all the tree is empty and VS Code shows the
// `viewsWelcome` text of package.json.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  buildersChangedNotification,
  healthNotification,
  listBuildersRequest,
  localMachineRequest,
  type BuilderMachine,
  type BuildersList,
  type LocalMachineInfo,
  type MachineHealth,
  type MachinesFile,
} from '../../../server/src/protocol';
import { findingDetailItem, sentencesOf } from './findingDetails';
import { factItem, factsOf, findingItem, machineItem, sourceFindingItem, sourceItem, type Node } from './items';
import { age, type LastResults } from './lastResults';
import {
  localChildren,
  localFactItem,
  localFindingItem,
  localMachineItem,
  showLocalMachine,
} from './localMachineItems';

export class MachinesTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly healthChanged = new vscode.EventEmitter<void>();
  /** Fires when any machine's health changes (the status bar listens). */
  readonly onDidChangeHealth = this.healthChanged.event;
  private list: Promise<BuildersList | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renderTimer: NodeJS.Timeout | undefined;
  private readonly health: Map<string, MachineHealth>;
  /** Machines whose result is from an earlier window: their rows say how old it is. */
  private readonly restored: Set<string>;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly client: LanguageClient,
    /** Settles when the language server has started (or failed to). */
    private readonly ready: Promise<unknown>,
    private readonly log: vscode.LogOutputChannel,
    /** Where the last results outlive a reload; none in an untrusted workspace (nothing was checked there). */
    private readonly lastResults?: LastResults,
  ) {
    this.health = lastResults?.restore() ?? new Map();
    this.restored = new Set(this.health.keys());
    this.subscriptions.push(
      client.onNotification(buildersChangedNotification, () => this.refreshSoon()),
      client.onNotification(healthNotification, (health) => this.setHealth(health)),
    );
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'source':
        return sourceItem(node.source);
      case 'machine':
        return machineItem(node.machine, this.health.get(node.machine.id), this.restoredAge(node.machine.id));
      case 'finding':
        return findingItem(node.finding, node.machine);
      case 'finding-detail':
        return findingDetailItem(node.text, node.index, node.finding, node.machine.id, node.machine);
      case 'source-finding':
        return sourceFindingItem(node.finding, node.source);
      case 'source-finding-detail':
        return findingDetailItem(node.text, node.index, node.finding, node.source.id);
      case 'fact':
        return factItem(node.label, node.value, node.icon, node.machine);
      case 'local':
        return localMachineItem(node.info);
      case 'local-fact':
        return localFactItem(node.label, node.value, node.icon);
      case 'local-finding':
        return localFindingItem(node.finding);
    }
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node?.kind === 'source')
      return [
        ...(node.source.findings ?? []).map((finding): Node => ({
          kind: 'source-finding',
          finding,
          source: node.source,
        })),
        ...node.source.machines.map((machine): Node => ({ kind: 'machine', machine, source: node.source })),
      ];
    if (node?.kind === 'machine') {
      const health = this.health.get(node.machine.id);
      if (!health) return [];
      const findings: Node[] = health.findings
        .filter((finding) => finding.code !== 'ok')
        .map((finding) => ({ kind: 'finding', finding, machine: node.machine }));
      const facts: Node[] = factsOf(health).map(([label, value, icon]) => ({
        kind: 'fact',
        label,
        value,
        icon,
        machine: node.machine,
      }));
      return [...findings, ...facts];
    }
    // A finding opens to its sentences: cause first, then the fix.
    if (node?.kind === 'finding' || node?.kind === 'source-finding')
      return sentencesOf(node.finding.message).map((text, index): Node =>
        node.kind === 'finding'
          ? { kind: 'finding-detail', text, index, finding: node.finding, machine: node.machine }
          : { kind: 'source-finding-detail', text, index, finding: node.finding, source: node.source },
      );
    if (node?.kind === 'local') return localChildren(node.info);
    if (node) return [];
    const [list, local] = await Promise.all([this.current(), this.localMachine()]);
    const shown = (source: BuildersList['sources'][number]) =>
      source.machines.length > 0 || Boolean(source.error) || (source.findings?.length ?? 0) > 0;
    const hasBuilders = list !== undefined && list.sources.some(shown);
    // "This machine" comes first; with no builders it shows only when something here is wrong,
    // so the view's welcome text (Add Builder, Open Machines File) still shows on a fresh install.
    const top: Node[] = showLocalMachine(local, hasBuilders) ? [{ kind: 'local', info: local }] : [];
    if (!list || !hasBuilders) return top;
    return [...top, ...list.sources.filter(shown).map((source): Node => ({ kind: 'source', source }))];
  }

  /** For `TreeView.reveal`: a machine's parent is its source, a finding's or fact's its machine. */
  getParent(node: Node): Node | undefined {
    if (node.kind === 'machine') return { kind: 'source', source: node.source };
    if (node.kind === 'finding' || node.kind === 'fact') {
      const source = this.sourceOf(node.machine.id);
      return source ? { kind: 'machine', machine: node.machine, source } : undefined;
    }
    if (node.kind === 'finding-detail') return { kind: 'finding', finding: node.finding, machine: node.machine };
    if (node.kind === 'source-finding') return { kind: 'source', source: node.source };
    if (node.kind === 'source-finding-detail')
      return { kind: 'source-finding', finding: node.finding, source: node.source };
    return undefined;
  }

  private lastList: BuildersList | undefined;

  private sourceOf(machineId: string) {
    return this.lastList?.sources.find((source) => source.machines.some((machine) => machine.id === machineId));
  }

  /** The tree node of a machine, for `reveal`. */
  async machineNode(id: string): Promise<Node | undefined> {
    const list = await this.current();
    const source = list?.sources.find((s) => s.machines.some((m) => m.id === id));
    const machine = source?.machines.find((m) => m.id === id);
    return source && machine ? { kind: 'machine', machine, source } : undefined;
  }

  /** Every machine of the last listing. */
  async machines(): Promise<BuilderMachine[]> {
    const list = await this.current();
    return list?.sources.flatMap((source) => source.machines) ?? [];
  }

  /** The machine with this id in the last listing. */
  async machine(id: string): Promise<BuilderMachine | undefined> {
    return (await this.machines()).find((machine) => machine.id === id);
  }

  /** The machines file Nix reads builders from, as the server says (undefined: the server did not answer). */
  async machinesFile(): Promise<MachinesFile | undefined> {
    return (await this.current())?.machinesFile;
  }

  healthOf(id: string): MachineHealth | undefined {
    return this.health.get(id);
  }

  /** "checked 5 min ago" for a result an earlier window saved; undefined for this window's own. */
  private restoredAge(id: string): string | undefined {
    const health = this.restored.has(id) ? this.health.get(id) : undefined;
    return health ? `checked ${age(health.at)}` : undefined;
  }

  private local: Promise<LocalMachineInfo | undefined> | undefined;

  /** What the server found about this machine (asked again on each refresh). */
  localMachine(): Promise<LocalMachineInfo | undefined> {
    this.local ??= this.ready
      .then(() => this.client.sendRequest(localMachineRequest))
      .then(
        (info) => info,
        (error: unknown) => {
          this.log.error(
            `Could not learn about this machine: ${error instanceof Error ? error.message : String(error)}`,
          );
          return undefined;
        },
      );
    return this.local;
  }

  private current(): Promise<BuildersList | undefined> {
    this.list ??= this.ready
      .then(() => this.client.sendRequest(listBuildersRequest))
      .then(
        (list) => (this.lastList = list),
        (error: unknown) => {
          this.log.error(`Could not list the builders: ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        },
      );
    return this.list;
  }

  private setHealth(health: MachineHealth): void {
    this.health.set(health.id, health);
    this.restored.delete(health.id);
    if (health.status !== 'probing') void this.lastResults?.save(this.health.values());
    this.healthChanged.fire();
    // Results arrive in bursts: render once per burst, not once per machine.
    clearTimeout(this.renderTimer);
    this.renderTimer = setTimeout(() => this.changed.fire(undefined), 50);
  }

  refresh(): void {
    this.list = undefined;
    this.local = undefined;
    this.changed.fire(undefined);
  }

  /** Many file events arrive together (an editor saving, a package switch): refresh once. */
  refreshSoon(delayMs = 500): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearTimeout(this.renderTimer);
    this.changed.dispose();
    this.healthChanged.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
