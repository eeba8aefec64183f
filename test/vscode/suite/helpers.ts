// Small helpers for tests that run inside VS Code: poll for a condition with a deadline (never
// sleep and hope), open fixture files, and ask the launcher for a screenshot.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

export const extensionId = 'nix-remote-builders.nix-remote-builders';

/** Resolves with the condition's first truthy value; rejects with `what` after the deadline. */
export async function waitFor<T>(what: string, condition: () => T | PromiseLike<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
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

/**
 * Asks the launcher (which drives the browser) to save a screenshot of the workbench, and
 * waits until the file exists. Returns its path, or undefined where nothing takes screenshots
 * (desktop VS Code).
 */
export async function screenshot(name: string): Promise<string | undefined> {
  const dir = process.env.NIX_BUILDERS_TEST_RESULTS;
  if (!dir || vscode.env.uiKind !== vscode.UIKind.Web) return undefined;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  rmSync(path, { force: true });
  console.log(`[screenshot] ${path}`);
  await waitFor(`screenshot ${path}`, () => existsSync(path), 20_000);
  return path;
}
