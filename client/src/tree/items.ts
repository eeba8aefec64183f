// How sources and machines look in the Remote Builders view: labels in the user's words, a
// short description line, an icon, a contextValue the menus match on, a Markdown tooltip.
import * as os from 'node:os';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import type { BuilderMachine, BuildersSource, HealthFinding, MachineHealth } from '../../../server/src/protocol';
import { findingTooltip } from './findingDetails';
import type { LocalNode } from './localMachineItems';

export type Node =
  | LocalNode
  | { kind: 'source'; source: BuildersSource }
  | { kind: 'machine'; machine: BuilderMachine; source: BuildersSource }
  | { kind: 'source-finding'; finding: HealthFinding; source: BuildersSource }
  | { kind: 'source-finding-detail'; text: string; index: number; finding: HealthFinding; source: BuildersSource }
  | { kind: 'finding'; finding: HealthFinding; machine: BuilderMachine }
  | { kind: 'finding-detail'; text: string; index: number; finding: HealthFinding; machine: BuilderMachine }
  | { kind: 'fact'; label: string; value: string; icon: string; machine: BuilderMachine };

/** `~/x` for paths in the home folder: shorter, and what users type. */
function tildify(path: string): string {
  const home = os.homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

export function sourceItem(source: BuildersSource): vscode.TreeItem {
  // A file is named by its name, its folder goes in the description (the sidebar is narrow);
  // a .nix file by the server's label, which counts its declared builders.
  const label = source.kind === 'declared' ? source.label : source.file ? basename(source.file) : source.label;
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
  item.id = source.id;
  const count = source.machines.length;
  const what = source.error
    ? 'Nix rejects this list'
    : source.kind === 'declared'
      ? 'not used by Nix until the system is rebuilt'
      : `${count} machine${count === 1 ? '' : 's'}${source.usedByNix ? '' : ', not used by Nix'}`;
  // A finding about the whole source ("rebuild to apply") is said on its row too: the row stays in sight when collapsed.
  const said = source.findings?.[0] ? ` · ${source.findings[0].title}` : '';
  item.description = `${source.file ? `${what} · ${tildify(dirname(source.file))}` : what}${said}`;
  item.iconPath = new vscode.ThemeIcon(
    source.kind === 'workspace' || source.kind === 'declared'
      ? 'file'
      : source.kind === 'nix-config-env'
        ? 'symbol-variable'
        : 'settings-gear',
  );
  item.contextValue = `source${source.file ? ' hasFile' : ''}`;
  const tooltip = new vscode.MarkdownString(`**${source.label}**\n\n${source.description}`);
  if (source.error) tooltip.appendMarkdown(`\n\n$(error) Nix rejects this list: ${source.error}`);
  tooltip.supportThemeIcons = true;
  item.tooltip = tooltip;
  if (source.file) item.resourceUri = vscode.Uri.file(source.file);
  return item;
}

function describeMachine(machine: BuilderMachine): string {
  const systems = machine.systems.join(', ') || 'no systems';
  return `${systems} · ${machine.maxJobs} job${machine.maxJobs === 1 ? '' : 's'} · speed ${machine.speedFactor}`;
}

/** The icon of a machine: its health when probed, else a plain server (red when Nix rejects the line). */
function machineIcon(machine: BuilderMachine, health: MachineHealth | undefined): vscode.ThemeIcon {
  if (!machine.valid) return new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
  switch (health?.status) {
    case 'up':
      return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
    case 'degraded':
      return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    case 'down':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
    case 'probing':
      return new vscode.ThemeIcon('loading~spin');
    case 'untrusted':
      return new vscode.ThemeIcon('workspace-untrusted');
    default:
      return new vscode.ThemeIcon('server');
  }
}

/** `checked`: how old the result is, when an earlier window saved it ("checked 5 min ago"). */
export function machineItem(machine: BuilderMachine, health?: MachineHealth, checked?: string): vscode.TreeItem {
  const expandable =
    health !== undefined && (health.findings.length > 0 || health.status === 'up' || health.status === 'degraded');
  const item = new vscode.TreeItem(
    machine.label,
    expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
  );
  item.id = machine.id;
  const latency =
    health && (health.status === 'up' || health.status === 'degraded') ? ` · ${Math.round(health.ms)} ms` : '';
  const worst = health?.status === 'down' ? ` · ${health.summary ?? 'down'}` : '';
  item.description = `${describeMachine(machine)}${latency}${worst}${checked ? ` · ${checked}` : ''}`;
  item.iconPath = machineIcon(machine, health);
  item.contextValue = `machine ${health?.status ?? 'unknown'}${machine.location ? ' hasLocation' : ''}${machine.valid ? '' : ' invalid'}`;
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendMarkdown(`**${machine.uri}**\n\n`);
  tooltip.appendMarkdown(`| | |\n|---|---|\n`);
  tooltip.appendMarkdown(`| systems | ${machine.systems.join(', ') || '—'} |\n`);
  tooltip.appendMarkdown(`| max jobs | ${machine.maxJobs} |\n| speed factor | ${machine.speedFactor} |\n`);
  tooltip.appendMarkdown(`| features | ${machine.supportedFeatures.join(', ') || '—'} |\n`);
  tooltip.appendMarkdown(`| mandatory features | ${machine.mandatoryFeatures.join(', ') || '—'} |\n`);
  tooltip.appendMarkdown(`| SSH key | ${machine.sshKey ?? "ssh's default"} |\n`);
  tooltip.appendMarkdown(`| host key | ${machine.hasHostKey ? 'pinned in the line' : 'from known_hosts'} |\n`);
  if (!machine.valid) tooltip.appendMarkdown(`\n$(error) Nix rejects this line, and with it the whole list.\n`);
  if (health && health.status !== 'probing') tooltip.appendMarkdown(`\n${healthSummary(health)}\n`);
  if (machine.location) {
    const args = encodeURIComponent(JSON.stringify([machine.id]));
    tooltip.appendMarkdown(`\n[Reveal in file](command:nixBuilders.revealMachine?${args})`);
    tooltip.isTrusted = { enabledCommands: ['nixBuilders.revealMachine'] };
  }
  item.tooltip = tooltip;
  return item;
}

function healthSummary(health: MachineHealth): string {
  const when = new Date(health.at).toLocaleTimeString();
  switch (health.status) {
    case 'untrusted':
      return '$(workspace-untrusted) Not checked: the workspace is not trusted, so no SSH connection is made.';
    case 'up':
      return `$(pass-filled) Usable (checked at ${when}, ${Math.round(health.ms)} ms).`;
    case 'degraded':
      return `$(warning) Usable, with warnings (checked at ${when}).`;
    default:
      return `$(error) Not usable: ${health.summary ?? 'see below'} (checked at ${when}).`;
  }
}

const severityIcons: Record<HealthFinding['severity'], vscode.ThemeIcon> = {
  error: new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground')),
  warning: new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground')),
  info: new vscode.ThemeIcon('info', new vscode.ThemeColor('problemsInfoIcon.foreground')),
};

export function findingItem(finding: HealthFinding, machine: BuilderMachine): vscode.TreeItem {
  // Expands to its cause and fix (findingDetails.ts): the words a user needs, not only in a tooltip.
  const open =
    finding.severity === 'error' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
  const item = new vscode.TreeItem(finding.title, open);
  item.id = `${machine.id}/finding/${finding.code}`;
  item.iconPath = severityIcons[finding.severity];
  item.tooltip = findingTooltip(finding);
  item.contextValue = `finding${finding.action ? ` action-${finding.action.kind}` : ''}`;
  // A click does the fix when there is one, else shows the whole text with a way to the line.
  item.command = finding.action
    ? { title: finding.action.title, command: 'nixBuilders.runFindingAction', arguments: [finding, machine] }
    : { title: 'Show Details', command: 'nixBuilders.showFinding', arguments: [finding, machine] };
  if (finding.action) item.description = finding.action.title;
  return item;
}

/** A finding about a source as a whole, above its machines: open, so its sentences (what differs, the fix) show. */
export function sourceFindingItem(finding: HealthFinding, source: BuildersSource): vscode.TreeItem {
  const item = new vscode.TreeItem(finding.title, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `${source.id}/finding/${finding.code}`;
  item.iconPath = severityIcons[finding.severity];
  item.tooltip = findingTooltip(finding);
  item.contextValue = `finding${finding.action ? ` action-${finding.action.kind}` : ''}`;
  item.command = finding.action
    ? { title: finding.action.title, command: 'nixBuilders.runFindingAction', arguments: [finding] }
    : { title: 'Show Details', command: 'nixBuilders.showFinding', arguments: [finding] };
  if (finding.action) item.description = finding.action.title;
  return item;
}

export function factItem(label: string, value: string, icon: string, machine: BuilderMachine): vscode.TreeItem {
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  item.id = `${machine.id}/fact/${label}`;
  item.description = value;
  item.iconPath = new vscode.ThemeIcon(icon);
  item.contextValue = 'fact';
  return item;
}

/** What a probe learned about a builder, as (label, value, icon) rows. */
export function factsOf(health: MachineHealth): [string, string, string][] {
  const f = health.facts;
  const rows: [string, string, string][] = [];
  const nix = f.daemonNixVersion ?? f.nixVersion;
  if (nix) rows.push(['Nix', nix, 'versions']);
  if (f.system) rows.push(['system', [f.system, ...(f.extraPlatforms ?? [])].join(', '), 'chip']);
  if (f.systemFeatures?.length) rows.push(['features', f.systemFeatures.join(', '), 'tag']);
  if (f.cores !== undefined)
    rows.push(['cores', `${f.cores}${f.load ? ` · load ${f.load[0].toFixed(2)}` : ''}`, 'pulse']);
  if (f.storeFreeBytes !== undefined)
    rows.push(['free in /nix/store', `${(f.storeFreeBytes / 1024 ** 3).toFixed(1)} GiB`, 'database']);
  if (f.trusted !== undefined)
    rows.push([
      'trusted user',
      f.trusted ? `yes${f.remoteUser ? ` (${f.remoteUser})` : ''}` : 'no',
      f.trusted ? 'verified' : 'unverified',
    ]);
  if (f.hostKey) rows.push(['host key', `${f.hostKey.type} ${f.hostKey.fingerprint}`, 'key']);
  const timings = health.stages
    .filter((stage) => stage.ok)
    .map((stage) => `${stage.name} ${Math.round(stage.ms)}`)
    .join(' · ');
  if (timings) rows.push(['timings (ms)', timings, 'watch']);
  return rows;
}
