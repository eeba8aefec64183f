// What the lsp tests of .nix files share: one server per file that registers for `nix`
// documents (the client can register dynamically, as VS Code does), a folder for the files they
// open, and a nix.conf of their own for the tests that list builders.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { LspClient } from './lspClient';

const dynamic = { dynamicRegistration: true };
/** The registrations a nix-module test needs: sync, hover, code actions, inlay hints. */
export const nixDocumentCapabilities = {
  textDocument: { synchronization: dynamic, hover: dynamic, codeAction: dynamic, inlayHint: dynamic },
};

export interface NixModuleSession {
  readonly client: LspClient;
  readonly dir: string;
  /** Opens `text` as a new .nix file and waits for its diagnostics. */
  open(text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }>;
}

/**
 * A server for this test file (started before its tests, stopped after), against Nix 2.8.
 * `ready` is called once it runs (Node 20 starts a file's `before` hooks without waiting for
 * the one before: a hook of the test's own could not rely on this one).
 */
export function nixModuleSession(name: string, ready?: (session: NixModuleSession) => void): NixModuleSession {
  let client: LspClient | undefined;
  let dir: string | undefined;
  let count = 0;
  before(async () => {
    client = await LspClient.start({ capabilities: nixDocumentCapabilities });
    client.settings = { nixVersion: '2.8' };
    dir = mkdtempSync(join(tmpdir(), `nix-builders-${name}-`));
    ready?.(session);
  });
  after(async () => {
    await client?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const session: NixModuleSession = {
    get client() {
      return client!;
    },
    get dir() {
      return dir!;
    },
    async open(text) {
      const uri = await client!.open(join(dir!, `${name}-${count++}.nix`), 'nix', text);
      return { uri, diagnostics: await client!.diagnostics(uri) };
    },
  };
  return session;
}

export const messageOf = (d: Diagnostic): string => (typeof d.message === 'string' ? d.message : d.message.value);

/** A server environment whose Nix reads an empty nix.conf in `dir` (no builders of this machine's). */
export function ownNixConf(dir: string): NodeJS.ProcessEnv {
  const confDir = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(confDir, 'nix.conf'), 'builders =\n');
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: confDir, NIX_USER_CONF_FILES: join(confDir, 'none') };
  delete env.NIX_CONFIG;
  return env;
}
