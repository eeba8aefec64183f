// How sources and machines look in the Remote Builders view: labels in the user's words, a
// short description line, an icon, a contextValue the menus match on, a Markdown tooltip.
import * as os from 'node:os';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import type { BuilderMachine, BuildersSource } from '../../../server/src/protocol';

export type Node = { kind: 'source'; source: BuildersSource } | { kind: 'machine'; machine: BuilderMachine; source: BuildersSource };

/** `~/x` for paths in the home folder: shorter, and what users type. */
function tildify(path: string): string {
  const home = os.homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

export function sourceItem(source: BuildersSource): vscode.TreeItem {
  // A file is named by its name, its folder goes in the description (the sidebar is narrow).
  const label = source.file ? basename(source.file) : source.label;
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
  item.id = source.id;
  const count = source.machines.length;
  const what = source.error ? 'Nix rejects this list' : `${count} machine${count === 1 ? '' : 's'}${source.usedByNix ? '' : ', not used by Nix'}`;
  item.description = source.file ? `${what} · ${tildify(dirname(source.file))}` : what;
  item.iconPath = new vscode.ThemeIcon(source.kind === 'workspace' ? 'file' : source.kind === 'nix-config-env' ? 'symbol-variable' : 'settings-gear');
  item.contextValue = `source${source.file ? ' hasFile' : ''}`;
  const tooltip = new vscode.MarkdownString(`**${source.label}**\n\n${source.description}`);
  if (source.error) tooltip.appendMarkdown(`\n\n$(error) Nix rejects this list: ${source.error}`);
  tooltip.supportThemeIcons = true;
  item.tooltip = tooltip;
  if (source.file) item.resourceUri = vscode.Uri.file(source.file);
  return item;
}

export function describeMachine(machine: BuilderMachine): string {
  const systems = machine.systems.join(', ') || 'no systems';
  return `${systems} · ${machine.maxJobs} job${machine.maxJobs === 1 ? '' : 's'} · speed ${machine.speedFactor}`;
}

export function machineItem(machine: BuilderMachine): vscode.TreeItem {
  const item = new vscode.TreeItem(machine.label, vscode.TreeItemCollapsibleState.None);
  item.id = machine.id;
  item.description = describeMachine(machine);
  item.iconPath = machine.valid ? new vscode.ThemeIcon('server') : new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
  item.contextValue = `machine${machine.location ? ' hasLocation' : ''}${machine.valid ? '' : ' invalid'}`;
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendMarkdown(`**${machine.uri}**\n\n`);
  tooltip.appendMarkdown(`| | |\n|---|---|\n`);
  tooltip.appendMarkdown(`| systems | ${machine.systems.join(', ') || '—'} |\n`);
  tooltip.appendMarkdown(`| max jobs | ${machine.maxJobs} |\n| speed factor | ${machine.speedFactor} |\n`);
  tooltip.appendMarkdown(`| features | ${machine.supportedFeatures.join(', ') || '—'} |\n`);
  tooltip.appendMarkdown(`| mandatory features | ${machine.mandatoryFeatures.join(', ') || '—'} |\n`);
  tooltip.appendMarkdown(`| SSH key | ${machine.sshKey ?? 'ssh\'s default'} |\n`);
  tooltip.appendMarkdown(`| host key | ${machine.hasHostKey ? 'pinned in the line' : 'from known_hosts'} |\n`);
  if (!machine.valid) tooltip.appendMarkdown(`\n$(error) Nix rejects this line, and with it the whole list.\n`);
  if (machine.location) {
    const args = encodeURIComponent(JSON.stringify([machine.id]));
    tooltip.appendMarkdown(`\n[Reveal in file](command:nixBuilders.revealMachine?${args})`);
    tooltip.isTrusted = { enabledCommands: ['nixBuilders.revealMachine'] };
  }
  item.tooltip = tooltip;
  return item;
}
