// From a machines line to an SSH connection, as Nix would make it: the URI's `[user@]host` goes
// to ssh as written (before 2.31 Nix passes a `:port` along as part of the host; from 2.31 as
// `-p`, see `portInUri`), column 3 as `-i`,
// column 8 as the host key, NIX_SSHOPTS from the environment. For the offload, the CLI and the
// health probe (which resolves and connects as two of its stages, each reported).
import { homedir } from 'node:os';
import { traced } from '../context/timingTrace';
import { parseStoreUri } from '../model/storeUri';
import { connect, type ConnectResult, type ConnectStageReport, type ConnectTimeouts } from './connect';
import type { SshFailure } from './failure';
import { hostKeyPolicy, type HostKeyPolicy } from './hostKeyCheck';
import type { AskPassphrase } from './keyring';
import { poolKey, type ConnectionPool, type LeaseResult } from './pool';
import { resolveSshHost, type ResolvedHost, type ResolveOptions } from './sshConfig';

/** The columns of a machines line that decide the connection. */
export interface MachineTarget {
  storeUri: string;
  /** Column 3. */
  sshKey?: string | undefined;
  /** Column 8. */
  publicHostKey?: string | undefined;
}

export interface MachineConnectOptions {
  env?: NodeJS.ProcessEnv;
  sshConfigFile?: string;
  sshBinary?: string | null;
  timeouts?: Partial<ConnectTimeouts>;
  /** Timeout of `ssh -G` (default 5 s). */
  resolveTimeoutMs?: number;
  askPassphrase?: AskPassphrase;
  /** How long a passphrase prompt may stay unanswered (connect.ts). */
  passphraseTimeoutMs?: number;
  signal?: AbortSignal;
  onTcpConnect?: (host: string, port: number) => void;
  /** Hears each connect stage (tcp, handshake, auth) as it ends. */
  onStage?: (stage: ConnectStageReport) => void;
  /** The Nix followed here hands the URI's port to ssh as `-p` (2.31+, `rules.portInUri`). */
  portInUri?: boolean;
  /** Started ahead of need (pool.ts): a request that joins it and sees it fail tries again itself. */
  tentative?: boolean;
}

/** `[user@]host` as Nix hands it to ssh: before 2.31 with the URI's `:port` still on the host. */
export function sshDestination(
  storeUri: string,
  portInUri = false,
): { user: string | undefined; host: string; uriHost: string } {
  const uri = parseStoreUri(storeUri);
  return {
    user: uri.user,
    host: uri.port === undefined || portInUri ? uri.host : `${uri.host}:${uri.port}`,
    uriHost: uri.host,
  };
}

export type ResolvedMachine =
  { ok: true; host: ResolvedHost; policy: HostKeyPolicy } | { ok: false; failure: SshFailure };

export function resolveOptionsFor(target: MachineTarget, options: MachineConnectOptions): ResolveOptions {
  const env = options.env ?? process.env;
  const port = options.portInUri ? parseStoreUri(target.storeUri).port : undefined;
  return {
    env,
    ...(port === undefined ? {} : { port }),
    home: env.HOME ?? homedir(),
    ...(options.resolveTimeoutMs === undefined ? {} : { timeoutMs: options.resolveTimeoutMs }),
    ...(options.sshBinary === undefined ? {} : { sshBinary: options.sshBinary }),
    ...(options.sshConfigFile === undefined ? {} : { configFile: options.sshConfigFile }),
    ...(target.sshKey === undefined ? {} : { identityFile: target.sshKey }),
  };
}

export async function resolveMachine(
  target: MachineTarget,
  options: MachineConnectOptions = {},
): Promise<ResolvedMachine> {
  const destination = sshDestination(target.storeUri, options.portInUri);
  const resolved = await resolveSshHost(destination, resolveOptionsFor(target, options));
  if (!resolved.ok) return resolved;
  return {
    ok: true,
    host: resolved.host,
    policy: hostKeyPolicy(resolved.host, destination.uriHost, target.publicHostKey),
  };
}

/** Connects to a resolved machine with the caller's timeouts, agent, passphrase and signal. */
export function connectResolved(
  resolved: Extract<ResolvedMachine, { ok: true }>,
  options: MachineConnectOptions,
): Promise<ConnectResult> {
  const env = options.env ?? process.env;
  return connect({
    host: resolved.host,
    hostKeyPolicy: resolved.policy,
    ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
    ...(env.SSH_AUTH_SOCK ? { agentSocket: env.SSH_AUTH_SOCK } : {}),
    ...(options.askPassphrase === undefined ? {} : { askPassphrase: options.askPassphrase }),
    ...(options.passphraseTimeoutMs === undefined ? {} : { passphraseTimeoutMs: options.passphraseTimeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onTcpConnect === undefined ? {} : { onTcpConnect: options.onTcpConnect }),
    ...(options.onStage === undefined ? {} : { onStage: options.onStage }),
  });
}

/** A pooled connection for a machine: the pool key is the resolved user, host, port and key. */
export async function acquireMachine(
  pool: ConnectionPool,
  target: MachineTarget,
  options: MachineConnectOptions = {},
): Promise<LeaseResult> {
  const resolved = await resolveMachine(target, options);
  if (!resolved.ok) return { ok: false, failure: resolved.failure };
  const key = poolKey(resolved.host);
  return pool.acquire(key, () => traced('connect', () => connectResolved(resolved, options)), {
    tentative: options.tentative === true,
  });
}
