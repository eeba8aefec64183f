// What real Nix says about this machine, asked through Nix's own commands so the answer is the
// installed version's, not our model of it:
// - `nix show-config --json` (`nix config show` since 2.20; the old name still works in 2.34
//   with a warning) for settings, once as the user sees them and once as the nix-daemon does
//   (the system nix.conf only: NIX_USER_CONF_FILES empty, no NIX_CONFIG, no NIX_CONF_DIR);
// - `nix store ping` for the store Nix opens (2.8 prints `Store URL: daemon` or `local`);
//   `--json` with `trusted` since 2.15 (NixOS/nix 9207f94582 "Add Store::isTrustedClient()"),
//   renamed `nix store info` in 2.19.
import { execFile } from 'node:child_process';
import type { NixVersion } from '../model/nixVersion';

export interface NixRunner {
  (args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; stdout: string; stderr: string }>;
}

/** Runs `nix` from PATH (or `program`), never through a shell. */
export function nixRunner(program = 'nix', timeoutMs = 10_000): NixRunner {
  return (args, env) =>
    new Promise((resolve) => {
      execFile(
        program,
        ['--extra-experimental-features', 'nix-command', ...args],
        { env, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ ok: error === null, stdout: stdout ?? '', stderr: stderr ?? '' }),
      );
    });
}

/** The settings we read, each as Nix printed its value. */
export interface NixSettings {
  builders: string;
  trustedUsers: string[];
  allowedUsers: string[];
  system: string | undefined;
  extraPlatforms: string[];
  systemFeatures: string[];
  maxJobs: string | undefined;
  store: string | undefined;
  /** narinfo-cache-negative-ttl: the restricted setting the trust probe sends back unchanged. */
  negativeTtl: string | undefined;
}

const words = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
const text = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : String(value);

export function parseShowConfig(json: string): NixSettings | undefined {
  let all: Record<string, { value?: unknown } | undefined>;
  try {
    all = JSON.parse(json) as typeof all;
  } catch {
    return undefined;
  }
  if (typeof all !== 'object' || all === null) return undefined;
  const value = (name: string) => all[name]?.value;
  return {
    builders: text(value('builders')) ?? '',
    trustedUsers: words(value('trusted-users')),
    allowedUsers: words(value('allowed-users')),
    system: text(value('system')),
    extraPlatforms: words(value('extra-platforms')),
    systemFeatures: words(value('system-features')),
    maxJobs: text(value('max-jobs')),
    store: text(value('store')),
    negativeTtl: text(value('narinfo-cache-negative-ttl')),
  };
}

/** The environment of a nix-daemon started by the system: only the system nix.conf applies. */
export function daemonViewEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const daemon: NodeJS.ProcessEnv = { ...env, NIX_USER_CONF_FILES: '' };
  delete daemon.NIX_CONFIG;
  delete daemon.NIX_CONF_DIR;
  return daemon;
}

export async function showConfig(
  nix: NixRunner,
  env: NodeJS.ProcessEnv,
  version: NixVersion | undefined,
): Promise<NixSettings | undefined> {
  const modern = version !== undefined && (version.major > 2 || version.minor >= 20);
  const result = await nix(modern ? ['config', 'show', '--json'] : ['show-config', '--json'], env);
  return result.ok ? parseShowConfig(result.stdout) : undefined;
}

export interface StoreAnswer {
  /** The store Nix opened: `daemon`, `local`, `unix://…`; undefined when it could not open one. */
  url: string | undefined;
  /** Whether the store trusts us, where this Nix says (2.15+). */
  trusted: boolean | undefined;
  /** What Nix said when it could not open the store. */
  error: string | undefined;
}

export async function pingStore(
  nix: NixRunner,
  env: NodeJS.ProcessEnv,
  version: NixVersion | undefined,
): Promise<StoreAnswer> {
  const atLeast = (minor: number) => version !== undefined && (version.major > 2 || version.minor >= minor);
  const command = atLeast(19) ? ['store', 'info'] : ['store', 'ping'];
  if (atLeast(15)) {
    const result = await nix([...command, '--json'], env);
    if (!result.ok) return { url: undefined, trusted: undefined, error: lastLine(result.stderr) };
    try {
      const info = JSON.parse(result.stdout) as { url?: unknown; trusted?: unknown };
      return {
        url: text(info.url),
        trusted:
          typeof info.trusted === 'boolean'
            ? info.trusted
            : typeof info.trusted === 'number'
              ? info.trusted === 1
              : undefined,
        error: undefined,
      };
    } catch {
      return { url: undefined, trusted: undefined, error: `nix ${command.join(' ')} --json printed no JSON` };
    }
  }
  const result = await nix(command, env);
  // 2.8 prints its notices on stderr.
  const url = /^Store URL: (\S+)/m.exec(`${result.stdout}\n${result.stderr}`)?.[1];
  return { url, trusted: undefined, error: result.ok ? undefined : lastLine(result.stderr) };
}

function lastLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('warning:'));
  return lines[lines.length - 1]?.replace(/^error:\s*/, '');
}

/** A restricted setting every client may send at its current value without changing anything. */
const PROBE_SETTING = 'narinfo-cache-negative-ttl';

/**
 * Nix's own trust verdict where it has no command for it (before 2.15): open the daemon with one
 * restricted setting at the value it already has, at debug verbosity (the daemon takes the
 * client's verbosity and forwards its log). A daemon that does not trust us says "ignoring the
 * client-specified setting '…', because it is a restricted setting and you are not a trusted
 * user" (debug() in 2.8 src/libstore/daemon.cc ClientSettings::apply, warn() since 2.22); a
 * trusting one applies it silently. The setting lives only in this connection's worker.
 */
export async function daemonIgnoresRestrictedSetting(
  nix: NixRunner,
  env: NodeJS.ProcessEnv,
  currentValue: string | undefined,
): Promise<boolean | undefined> {
  const result = await nix(['store', 'ping', '--debug', '--option', PROBE_SETTING, currentValue ?? '3600'], env);
  if (!result.ok) return undefined;
  return new RegExp(`ignoring the client-specified setting '${PROBE_SETTING}'`).test(
    `${result.stdout}\n${result.stderr}`,
  );
}
