// The `nixBuilders.*` settings as the server sees them: pulled from the client per document
// (a folder may set its own Nix version), cached until the client says they changed.
import type { Connection } from 'vscode-languageserver';

export interface ServerSettings {
  /** `auto` or a Nix version such as `2.8`. */
  nixVersion: string;
  /** `nixBuilders.sshConfigFile`: an ssh config used instead of ~/.ssh/config (like `ssh -F`). */
  sshConfigFile?: string;
  /** `nixBuilders.probeTimeout`: seconds each probe stage may take. */
  probeTimeout?: number;
  /** `nixBuilders.inlayHints.enabled`. */
  inlayHints?: { enabled?: boolean };
}

export const defaultSettings: ServerSettings = { nixVersion: 'auto' };

export class SettingsCache {
  private readonly byDocument = new Map<string, Promise<ServerSettings>>();

  constructor(
    private readonly connection: Connection,
    private readonly clientCanPull: () => boolean,
  ) {}

  /** The settings for a document, or the window's when `uri` is undefined. */
  get(uri: string | undefined): Promise<ServerSettings> {
    if (!this.clientCanPull()) return Promise.resolve(defaultSettings);
    const key = uri ?? '';
    let settings = this.byDocument.get(key);
    if (!settings) {
      settings = this.connection.workspace
        .getConfiguration(uri === undefined ? { section: 'nixBuilders' } : { scopeUri: uri, section: 'nixBuilders' })
        .then((value: Partial<ServerSettings> | null) => ({ ...defaultSettings, ...(value ?? {}) }))
        .catch(() => defaultSettings);
      this.byDocument.set(key, settings);
    }
    return settings;
  }

  forget(uri: string): void {
    this.byDocument.delete(uri);
  }

  clear(): void {
    this.byDocument.clear();
  }
}
