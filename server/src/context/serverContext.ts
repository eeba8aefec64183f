// What every service receives: workspace trust, the settings per document, and "the Nix we
// follow here" (the settings, the Nix installed here and the target they make) in one call.
// The language server makes one from its LSP connection (settings pulled from the client);
// the CLI makes one from its options, with no connection. File reading and positions sit
// beside it in this folder, under every service.
import type { Connection } from 'vscode-languageserver';
import { detectLocalNix, type LocalNix } from './localNix';
import { fixedSettings, SettingsCache, type ServerSettings, type SettingsSource } from './settings';
import { nixTarget, type NixTarget } from './target';
import { WorkspaceTrust } from './trust';

/** The Nix a document (or the window) follows: what a check, a listing, a probe or a build needs. */
export interface NixHere {
  settings: ServerSettings;
  local: LocalNix;
  target: NixTarget;
}

export class ServerContext {
  constructor(
    readonly settings: SettingsSource,
    readonly trust: WorkspaceTrust,
    private readonly localNix: () => Promise<LocalNix> = detectLocalNix,
  ) {}

  /** No SSH, no `ssh -G` and no evaluation unless this is true. */
  get trusted(): boolean {
    return this.trust.trusted;
  }

  /** The Nix followed for `uri` (a folder may set its own version), or the window's. */
  async nixHere(uri?: string): Promise<NixHere> {
    const [settings, local] = await Promise.all([this.settings.get(uri), this.localNix()]);
    return { settings, local, target: nixTarget(settings.nixVersion, local) };
  }
}

/** The language server's context: settings pulled from the client, trust as the client says. */
export function lspContext(connection: Connection, clientCanPull: () => boolean): ServerContext {
  return new ServerContext(new SettingsCache(connection, clientCanPull), new WorkspaceTrust());
}

/** The CLI's context: its options are the settings; whoever runs it trusts what they point it at. */
export function cliContext(options: {
  nixVersion?: string | undefined;
  sshConfigFile?: string | undefined;
}): ServerContext {
  const trust = new WorkspaceTrust();
  trust.set(true);
  return new ServerContext(fixedSettings(options), trust);
}
