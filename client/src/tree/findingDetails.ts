// A finding's cause and fix where a user reads them: under the finding, one row per sentence of
// the server's words (cause first, then what to do), and on a click the whole text in a
// notification with a way to the machine's line. The server writes the words; this file only
// lays them out.
import * as vscode from 'vscode';
import type { BuilderMachine, HealthFinding } from '../../../server/src/protocol';
import { revealMachine } from '../commands';
import { runFindingAction } from '../findingActions';

/** A finding's tooltip: the server's Markdown form (commands as code spans, the rest escaped, so `*i*` stays), then its code. */
export function findingTooltip(finding: HealthFinding): vscode.MarkdownString {
  const tooltip =
    finding.markdown === undefined
      ? new vscode.MarkdownString().appendText(finding.message)
      : new vscode.MarkdownString(finding.markdown);
  return tooltip.appendMarkdown('\n\n').appendText(`(${finding.code})`);
}

/** The sentences of a finding's message, without breaking inside a command or "e.g.". */
export function sentencesOf(message: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  let inCode = false;
  for (let i = 0; i < message.length; i++) {
    const c = message[i];
    if (c === '`') inCode = !inCode;
    const ends = !inCode && /[.!?]/.test(c!) && message[i + 1] === ' ' && /[A-Z`"(]/.test(message[i + 2] ?? '');
    if (ends && !/\b(e\.g|i\.e|etc)$/.test(message.slice(start, i))) {
      sentences.push(message.slice(start, i + 1).trim());
      start = i + 2;
    }
  }
  const rest = message.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

/** One sentence of a finding, under the finding of `ownerId` (a machine, or a source when `machine` is undefined). */
export function findingDetailItem(
  text: string,
  index: number,
  finding: HealthFinding,
  ownerId: string,
  machine?: BuilderMachine,
): vscode.TreeItem {
  const item = new vscode.TreeItem(text, vscode.TreeItemCollapsibleState.None);
  item.id = `${ownerId}/finding/${finding.code}/${index}`;
  // The first sentence says what is wrong, the others what to do about it.
  item.iconPath = new vscode.ThemeIcon(index === 0 ? 'question' : 'lightbulb');
  item.tooltip = new vscode.MarkdownString().appendText(text);
  item.contextValue = 'findingDetail';
  item.command = { title: 'Show Details', command: 'nixBuilders.showFinding', arguments: [finding, machine] };
  return item;
}

const show = {
  error: vscode.window.showErrorMessage,
  warning: vscode.window.showWarningMessage,
  info: vscode.window.showInformationMessage,
} as const;

/** The whole finding in a notification (it wraps, and stays in the notification centre), with its fix and the line. */
export async function showFinding(finding: HealthFinding, machine?: BuilderMachine): Promise<void> {
  const buttons = [...(finding.action ? [finding.action.title] : []), ...(machine?.location ? ['Reveal in File'] : [])];
  const who = machine ? `${machine.label}: ` : '';
  const choice = await show[finding.severity](`${who}${finding.title}. ${finding.message}`, ...buttons);
  if (choice === 'Reveal in File' && machine) await revealMachine(machine);
  else if (choice && finding.action && choice === finding.action.title) await runFindingAction(finding, machine);
}
