// The SSH settings of a builder's host for the hover and for "pin the host key": the SSH layer's
// resolution (ssh/sshConfig.ts), with `ssh -G` only in a trusted workspace, because it evaluates
// `Match exec`, which runs commands; otherwise the config files are read without ssh. Only the
// host's own settings count here, not this process's NIX_SSHOPTS (the nix-daemon that runs ssh
// has its own environment). Results are kept half a minute, since hovers repeat.
import type { StoreUriParts } from '../model/storeUri';
import { resolveSshHost, type ResolvedHost } from '../ssh/sshConfig';

export interface SshLookupRequest {
  /** The host as the store URI names it (an alias or a real name). */
  host: string;
  user?: string;
  /** Only when the targeted Nix passes a port from the URI on to ssh. */
  port?: string;
  /** `nixBuilders.sshConfigFile` (like `ssh -F`); undefined for ssh's default files. */
  configFile?: string;
  /** `ssh -G` may run (the workspace is trusted). */
  trusted: boolean;
}

export interface SshLookup {
  host: ResolvedHost;
  /** Why the config files were read instead of asking ssh, and what they could not evaluate. */
  note?: string;
}

export type SshLookupResult = SshLookup | { error: string };

const cacheMs = 30_000;
const cache = new Map<string, { at: number; result: Promise<SshLookupResult> }>();

async function lookUp(request: SshLookupRequest): Promise<SshLookupResult> {
  const resolved = await resolveSshHost(
    { user: request.user, host: request.host },
    {
      sshBinary: request.trusted ? 'ssh' : null,
      nixSshOpts: '',
      ...(request.configFile ? { configFile: request.configFile } : {}),
      ...(request.port !== undefined ? { port: request.port } : {}),
    },
  );
  if (!resolved.ok) return { error: resolved.failure.cause.replace(/\.$/, '') };
  const host = resolved.host;
  if (host.source === 'ssh -G') return { host };
  const why = request.trusted ? 'no ssh binary found' : '`ssh -G` runs only in a trusted workspace';
  const notes = [
    `read from the config files: ${why}`,
    host.skippedMatch ? '`Match` blocks are not evaluated here' : undefined,
  ];
  return { host, note: notes.filter(Boolean).join('; ') };
}

/** The effective SSH settings of a host (cached for half a minute). */
/**
 * The request for a machine's store URI: its `[user@]host`, its port only where the targeted
 * Nix passes one on to ssh (`portInUri`), the ssh config file when one is set.
 */
export function requestFor(
  parts: Pick<StoreUriParts, 'host' | 'user' | 'port'>,
  options: { portInUri: boolean; configFile: string | undefined; trusted: boolean },
): SshLookupRequest {
  const port = options.portInUri ? parts.port : undefined;
  return {
    host: parts.host,
    ...(parts.user !== undefined ? { user: parts.user } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(options.configFile ? { configFile: options.configFile } : {}),
    trusted: options.trusted,
  };
}

export function lookUpSshSettings(request: SshLookupRequest): Promise<SshLookupResult> {
  const key = JSON.stringify(request);
  const cached = cache.get(key);
  if (cached && Date.now() - cached.at < cacheMs) return cached.result;
  const result = lookUp(request);
  cache.set(key, { at: Date.now(), result });
  return result;
}

/** The config file named in hovers. */
export function describeConfigFile(configFile: string | undefined): string {
  return configFile ? configFile : '~/.ssh/config';
}
