// How "This machine" looks in the Remote Builders view: one node at the top with what the server
// found about the local side (daemon or single-user, trusted or not, the settings builds run
// with, whose builders count) and its findings, each with its fix. The server decides all of it
// (server/src/localMachine/); this file only renders.
import * as vscode from 'vscode';
import type { HealthFinding, LocalMachineInfo } from '../../../server/src/protocol';
import { findingTooltip } from './findingDetails';

export type LocalNode =
  | { kind: 'local'; info: LocalMachineInfo }
  | { kind: 'local-fact'; label: string; value: string; icon: string }
  | { kind: 'local-finding'; finding: HealthFinding };

const worst = (findings: readonly HealthFinding[]) =>
  findings.find((finding) => finding.severity === 'error') ??
  findings.find((finding) => finding.severity === 'warning');

/** Shown when there are builders, or when something here is wrong (e.g. the daemon does not trust you). */
export function showLocalMachine(info: LocalMachineInfo | undefined, hasBuilders: boolean): info is LocalMachineInfo {
  return info !== undefined && (hasBuilders || worst(info.findings) !== undefined);
}

function mode(info: LocalMachineInfo): string {
  if (info.mode === 'no-nix') return 'no Nix';
  if (info.mode === 'single-user') return 'single-user';
  return info.trusted === true
    ? 'nix-daemon · trusted'
    : info.trusted === false
      ? 'nix-daemon · not trusted'
      : 'nix-daemon';
}

export function localMachineItem(info: LocalMachineInfo): vscode.TreeItem {
  const item = new vscode.TreeItem('This machine', vscode.TreeItemCollapsibleState.Collapsed);
  item.id = 'local-machine';
  const bad = worst(info.findings);
  item.description = `${info.user} · ${mode(info)}${info.nixVersion ? ` · Nix ${info.nixVersion}` : ''}${bad ? ` · ${bad.title}` : ''}`;
  item.iconPath =
    bad?.severity === 'error'
      ? new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'))
      : bad?.severity === 'warning'
        ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
        : new vscode.ThemeIcon('vm');
  item.contextValue = 'localMachine';
  item.tooltip = new vscode.MarkdownString(
    bad ? `**This machine**\n\n${bad.message}` : `**This machine**: builds as ${info.user}, ${mode(info)}.`,
  );
  return item;
}

export function localChildren(info: LocalMachineInfo): LocalNode[] {
  const findings: LocalNode[] = info.findings.map((finding) => ({ kind: 'local-finding', finding }));
  const rows: [string, string, string][] = [];
  rows.push([
    'builds',
    info.mode === 'daemon'
      ? `through the nix-daemon (${info.storeUrl ?? 'daemon'}), as root`
      : info.mode === 'single-user'
        ? `here, as ${info.user} (${info.storeUrl ?? 'local'})`
        : 'nowhere: no Nix',
    'server-process',
  ]);
  if (info.trusted !== undefined)
    rows.push([
      'trusted user',
      `${info.trusted ? 'yes' : 'no'} · ${info.trustedBy}`,
      info.trusted ? 'verified' : 'unverified',
    ]);
  if (info.system) rows.push(['system', [info.system, ...info.extraPlatforms].join(', '), 'chip']);
  if (info.systemFeatures.length > 0) rows.push(['features', info.systemFeatures.join(', '), 'tag']);
  if (info.maxJobs !== undefined) rows.push(['max-jobs', info.maxJobs, 'layers']);
  if (info.mode !== 'no-nix')
    rows.push([
      info.buildersOf === 'daemon' ? "the daemon's builders" : 'builders',
      info.builders || '(none)',
      'server',
    ]);
  return [...findings, ...rows.map(([label, value, icon]): LocalNode => ({ kind: 'local-fact', label, value, icon }))];
}

export function localFactItem(label: string, value: string, icon: string): vscode.TreeItem {
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  item.id = `local-machine/fact/${label}`;
  item.description = value;
  item.tooltip = `${label}: ${value}`;
  item.iconPath = new vscode.ThemeIcon(icon);
  item.contextValue = 'fact';
  return item;
}

const severityIcon = (severity: HealthFinding['severity']) =>
  new vscode.ThemeIcon(
    severity,
    new vscode.ThemeColor(
      severity === 'error'
        ? 'problemsErrorIcon.foreground'
        : severity === 'warning'
          ? 'problemsWarningIcon.foreground'
          : 'problemsInfoIcon.foreground',
    ),
  );

export function localFindingItem(finding: HealthFinding): vscode.TreeItem {
  const item = new vscode.TreeItem(finding.title, vscode.TreeItemCollapsibleState.None);
  item.id = `local-machine/finding/${finding.code}`;
  // The title, then the fix if there is one: the code is for filters, not for reading (it is in the tooltip).
  item.description = finding.action?.title;
  item.iconPath = severityIcon(finding.severity);
  item.tooltip = findingTooltip(finding);
  item.contextValue = `finding${finding.action ? ` action-${finding.action.kind}` : ''}`;
  // A click does the fix, or shows the whole text (a row is too narrow for it).
  item.command = finding.action
    ? { title: finding.action.title, command: 'nixBuilders.runFindingAction', arguments: [finding] }
    : { title: 'Show Details', command: 'nixBuilders.showFinding', arguments: [finding] };
  return item;
}
