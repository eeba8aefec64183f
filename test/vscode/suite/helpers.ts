// Small helpers for tests that run inside VS Code: poll for a condition with a deadline (never
// sleep and hope), open fixture files, and ask the launcher for a screenshot and what it shows.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

export const extensionId = 'nix-remote-builders.nix-remote-builders';

/** Resolves with the condition's first truthy value; rejects with `what` after the deadline. */
export async function waitFor<T>(
  what: string,
  condition: () => T | PromiseLike<T>,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the suite runs with the example workspace open');
  return vscode.Uri.joinPath(folder.uri, name);
}

export async function openWorkspaceFile(name: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(workspaceFile(name));
  return vscode.window.showTextDocument(document);
}

/** One part of the workbench as a screenshot shows it (codeServer/whatIsShown.mjs). */
export interface ShownPart {
  /** On the screen at all. */
  shown: boolean;
  /** The text it renders, whitespace collapsed. */
  text: string;
  /** Its list or tree rows in the viewport, top to bottom, each row's text. */
  rows: string[];
  /** The buttons drawn on its rows (inline actions show on the selected or hovered row), as "row label: action, action". */
  actions: string[];
  /** The share of its area drawn in something other than its background colour (0..1). */
  inked: number;
}
export type WorkbenchPart =
  | 'sidebar'
  | 'editor'
  | 'panel'
  | 'statusbar'
  | 'suggest'
  | 'hover'
  | 'quickInput'
  | 'notifications'
  | 'notificationCenter'
  | 'terminal';
export interface Screenshot {
  path: string;
  shows: Record<WorkbenchPart, ShownPart>;
}

/** Whether screenshot() takes pictures here: in the launcher's browser, not desktop VS Code. */
export function canScreenshot(): boolean {
  return Boolean(process.env.NIX_BUILDERS_TEST_RESULTS) && vscode.env.uiKind === vscode.UIKind.Web;
}

/**
 * Asks the launcher (which drives the browser) to save a screenshot of the workbench, and
 * waits until the file exists. Returns its path and what it shows, or undefined where nothing
 * takes screenshots (desktop VS Code).
 */
export async function screenshot(name: string): Promise<Screenshot | undefined> {
  const dir = process.env.NIX_BUILDERS_TEST_RESULTS;
  if (!dir || !canScreenshot()) return undefined;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  const shown = join(dir, `${name}.json`);
  rmSync(path, { force: true });
  rmSync(shown, { force: true });
  console.log(`[screenshot] ${path}`);
  await waitFor(`screenshot ${path}`, () => existsSync(path), 20_000);
  return { path, shows: JSON.parse(readFileSync(shown, 'utf8')) as Screenshot['shows'] };
}

/**
 * Takes the screenshot until it shows what `check` asserts (the workbench renders a moment
 * after a command returns), and fails with check's last complaint after the deadline. Returns
 * undefined where nothing takes screenshots.
 */
export async function screenshotShowing(
  name: string,
  check: (shot: Screenshot) => void,
  timeoutMs = 10_000,
  /** Puts the window in shape before each attempt: a refresh of the view (a file watcher firing) may undo what a test expanded. */
  arrange?: () => Promise<void>,
): Promise<Screenshot | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await arrange?.();
    const shot = await screenshot(name);
    if (!shot) return undefined;
    try {
      check(shot);
      return shot;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Fails unless the part is on the screenshot with a row matching each pattern, in that order. */
export function assertShowsRows(shot: Screenshot, part: WorkbenchPart, expected: RegExp[]): void {
  const { shown, rows } = shot.shows[part];
  assert.ok(shown, `${shot.path}: the ${part} is on the screen`);
  let from = 0;
  for (const pattern of expected) {
    const at = rows.findIndex((row, i) => i >= from && pattern.test(row));
    assert.ok(
      at >= 0,
      `${shot.path}: the ${part} shows a row matching ${pattern}${from > 0 ? ` below "${rows[from - 1]}"` : ''}; its rows:\n${rows.join('\n')}`,
    );
    from = at + 1;
  }
}

/** Fails unless the row labelled `label` shows each of the `present` buttons and none of the `absent` ones (by their titles). */
export function assertRowActions(
  shot: Screenshot,
  part: WorkbenchPart,
  label: string,
  present: string[],
  absent: string[],
): void {
  const row = shot.shows[part].actions.find((entry) => entry.startsWith(`${label}: `));
  assert.ok(
    row,
    `${shot.path}: the ${part}'s row ${label} shows buttons; rows with buttons:\n${shot.shows[part].actions.join('\n')}`,
  );
  const shown = row.slice(label.length + 2).split(', ');
  for (const title of present)
    assert.ok(shown.includes(title), `${shot.path}: ${label} shows "${title}"; it shows ${row}`);
  for (const title of absent)
    assert.ok(!shown.includes(title), `${shot.path}: ${label} does not show "${title}"; it shows ${row}`);
}

/** Fails unless the part is on the screenshot and drawn on at least this share of its area. */
export function assertShowsInk(shot: Screenshot, part: WorkbenchPart, atLeast: number): void {
  const { shown, inked } = shot.shows[part];
  assert.ok(shown, `${shot.path}: the ${part} is on the screen`);
  assert.ok(
    inked >= atLeast,
    `${shot.path}: the ${part} is drawn on ${(inked * 100).toFixed(1)}% of its area, less than ${atLeast * 100}%: it looks empty`,
  );
}

/** Fails unless the part is on the screenshot and its text matches each pattern. */
export function assertShowsText(shot: Screenshot, part: WorkbenchPart, expected: RegExp[]): void {
  const { shown, text } = shot.shows[part];
  assert.ok(shown, `${shot.path}: the ${part} is on the screen`);
  for (const pattern of expected)
    assert.match(text, pattern, `${shot.path}: the ${part} shows ${pattern}; its text: ${text}`);
}

/**
 * The Remote Builders view alone on the screen, every node collapsed, the sidebar widened so
 * descriptions can be read: where a screenshot of the view starts (the test then expands what
 * it shows).
 */
export async function showTheViewAlone(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.commands.executeCommand('workbench.action.closePanel');
  await vscode.commands.executeCommand('nixBuilders.machines.focus');
  await vscode.commands.executeCommand('workbench.actions.treeView.nixBuilders.machines.collapseAll');
  for (let i = 0; i < 6; i++) await vscode.commands.executeCommand('workbench.action.decreaseViewWidth');
}

/** A JSON value runTests.ts hands the suite in an environment variable; undefined when unset. */
export function jsonFromEnv<T>(name: string): T | undefined {
  const text = process.env[name];
  return text ? (JSON.parse(text) as T) : undefined;
}
