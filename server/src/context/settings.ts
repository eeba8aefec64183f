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

const defaultSettings: ServerSettings = { nixVersion: 'auto' };

/** Where a service gets the settings from: the client (SettingsCache) or the CLI's options. */
export interface SettingsSource {
  /** The settings for a document, or the window's when `uri` is undefined. */
  get(uri: string | undefined): Promise<ServerSettings>;
  /** A document closed: its settings need not be kept. */
  forget(uri: string): void;
  /** The settings changed: ask again next time. */
  clear(): void;
}

/** The same settings for every document: the CLI's, from its options. */
export function fixedSettings(values: {
  nixVersion?: string | undefined;
  sshConfigFile?: string | undefined;
}): SettingsSource {
  const settings: ServerSettings = {
    nixVersion: values.nixVersion ?? defaultSettings.nixVersion,
    ...(values.sshConfigFile ? { sshConfigFile: values.sshConfigFile } : {}),
  };
  return { get: () => Promise.resolve(settings), forget: () => {}, clear: () => {} };
}

export class SettingsCache implements SettingsSource {
  private readonly byDocument = new Map<string, Promise<ServerSettings>>();

  constructor(
    private readonly connection: Connection,
    private readonly clientCanPull: () => boolean,
  ) {}

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
