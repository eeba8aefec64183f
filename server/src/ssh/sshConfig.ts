// Where and as whom ssh reaches a builder, resolved the way ssh itself does: `ssh -G` with the
// options Nix would pass (NIX_SSHOPTS, then `-i <column 3>`), so Host aliases, Include, Match
// and every default come from ssh. Without an ssh binary the config files are read by our own
// subset of ssh's rules (sshConfigFallback.ts). ssh runs through execFile with an argument list,
// never a shell, and a host beginning with `-` never reaches it.
import { logCommand } from '../context/log';
import { tracePhase } from '../context/timingTrace';
import { remoteCommandLine } from './remoteCommand';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { expandTilde } from '../model/identityFile';
import { parseNixSshOpts, resolutionArguments, type SshCommandLine } from './nixSshOpts';
import { resolveFromConfigFiles, type SshSettings } from './sshConfigFallback';
import { configStamp, keepAnswer, keptAnswer } from './sshGCache';
import type { SshFailure } from './failure';

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new' | 'off';

/** A builder's ssh destination, resolved. Paths are expanded (`~`, `%d`, `%u`). */
export interface ResolvedHost {
  /** The host as written in the store URI (an ssh_config alias or a real name). */
  alias: string;
  /** Where ssh connects (HostName, lower-cased as ssh does). */
  hostName: string;
  port: number;
  user: string;
  /** The keys ssh offers, in its order: command-line `-i` (NIX_SSHOPTS, column 3), then IdentityFile, else the defaults. */
  identityFiles: string[];
  /** `-i` files ssh drops because it cannot read them (it warns and goes on without them). */
  droppedIdentityFiles: string[];
  identitiesOnly: boolean;
  /** ProxyJump hops, as written (`[user@]host[:port]`). */
  proxyJump: string[];
  /** A ProxyCommand, as ssh_config has it (the probe does not run it). */
  proxyCommand: string | undefined;
  /** ConnectTimeout in ms (undefined: none, ssh waits for the OS). */
  connectTimeoutMs: number | undefined;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hostKeyAlias: string | undefined;
  strictHostKeyChecking: StrictHostKeyChecking;
  batchMode: boolean;
  /** HostKeyAlgorithms, when set (ssh's order of preference). */
  hostKeyAlgorithms: string[] | undefined;
  /** The command line the resolution used (from NIX_SSHOPTS and the config-file setting). */
  commandLine: SshCommandLine;
  /** `ssh -G` or our own reading of the config files. */
  source: 'ssh -G' | 'config files';
  notes: string[];
  /** Read from the config files, which skipped a `Match` block (ssh alone evaluates them). */
  skippedMatch?: boolean;
}

export interface ResolveOptions {
  /** The ssh binary (default `ssh`); `null` reads the config files without ssh. */
  sshBinary?: string | null;
  /** An ssh config file used instead of the defaults, like `ssh -F` (NIX_SSHOPTS' own -F wins). */
  configFile?: string;
  /** The NIX_SSHOPTS text (default: from `env`). */
  nixSshOpts?: string;
  /** Column 3, which Nix passes as `-i`. */
  identityFile?: string;
  /** The URI's port, which Nix passes as `-p` from 2.31 on. */
  port?: string;
  env?: NodeJS.ProcessEnv;
  /** The home whose ~/.ssh counts (default: this user's). */
  home?: string;
  timeoutMs?: number;
}

export type ResolveResult = { ok: true; host: ResolvedHost } | { ok: false; failure: SshFailure };

/** A user or host that ssh must never see: ssh would read `-…` as an option (-oProxyCommand=…). */
export function refusedDestination(user: string | undefined, host: string): string | undefined {
  if (host === '') return 'the store URI has no host';
  if (host.startsWith('-')) return `the host '${host}' begins with '-', which ssh would read as an option`;
  if (user !== undefined && user.startsWith('-'))
    return `the user '${user}' begins with '-', which ssh would read as an option`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(host) || (user !== undefined && /[\s\x00-\x1f\x7f]/.test(user)))
    return 'the user or host contains spaces or control characters';
  return undefined;
}

function expandPath(value: string, home: string, localUser: string): string {
  const withTokens = value.replace(/%([du%])/g, (_, token: string) =>
    token === 'd' ? home : token === 'u' ? localUser : '%',
  );
  return expandTilde(withTokens, home);
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Reads `ssh -G` output: one `keyword value` per line. */
export function parseSshGOutput(text: string): SshSettings {
  const settings: SshSettings = new Map();
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const keyword = line.slice(0, space).toLowerCase();
    const value = line.slice(space + 1);
    const list = settings.get(keyword) ?? [];
    list.push(value);
    settings.set(keyword, list);
  }
  return settings;
}

/** Splits ProxyJump into hops; `none` means no jump. */
function proxyJumpHops(value: string | undefined): string[] {
  if (value === undefined || value.toLowerCase() === 'none') return [];
  return value
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
}

function strictness(value: string | undefined): StrictHostKeyChecking {
  switch ((value ?? 'ask').toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'no':
    case 'false':
      return 'no';
    case 'off':
      return 'off';
    case 'accept-new':
      return 'accept-new';
    default:
      return 'ask';
  }
}

/** Turns `ssh -G`-shaped settings into a ResolvedHost. */
export function toResolvedHost(
  alias: string,
  settings: SshSettings,
  extra: {
    home: string;
    localUser: string;
    commandLine: SshCommandLine;
    dropped: string[];
    source: ResolvedHost['source'];
    notes: string[];
  },
): ResolvedHost {
  const first = (name: string) => settings.get(name)?.[0];
  const list = (name: string) =>
    (first(name) ?? '').split(/\s+/).filter((file) => file !== '' && file.toLowerCase() !== 'none');
  const port = Number(first('port') ?? '22');
  const timeout = first('connecttimeout');
  const seconds = timeout === undefined || timeout === 'none' ? undefined : Number(timeout);
  const expand = (file: string) => expandPath(file, extra.home, extra.localUser);
  const alg = first('hostkeyalgorithms');
  return {
    alias,
    hostName: first('hostname') ?? alias,
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 22,
    user: first('user') ?? extra.localUser,
    // ssh registers a file once, however often it is named (-i and IdentityFile alike).
    identityFiles: [...new Set((settings.get('identityfile') ?? []).map(expand))],
    droppedIdentityFiles: extra.dropped,
    identitiesOnly: (first('identitiesonly') ?? 'no').toLowerCase() === 'yes',
    proxyJump: proxyJumpHops(first('proxyjump')),
    proxyCommand: first('proxycommand'),
    connectTimeoutMs: seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
    userKnownHostsFiles: list('userknownhostsfile').map(expand),
    globalKnownHostsFiles: list('globalknownhostsfile').map(expand),
    hostKeyAlias: first('hostkeyalias'),
    strictHostKeyChecking: strictness(first('stricthostkeychecking')),
    batchMode: (first('batchmode') ?? 'no').toLowerCase() === 'yes',
    hostKeyAlgorithms: alg === undefined ? undefined : alg.split(','),
    commandLine: extra.commandLine,
    source: extra.source,
    notes: extra.notes,
  };
}

/** `ssh -G`'s arguments: only resolution options, and `--` so the destination is never read as one. */
export function sshGArguments(commandLine: SshCommandLine, destination: string): string[] {
  return ['-G', ...resolutionArguments(commandLine), '--', destination];
}

function runSshG(
  binary: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ missing: true } | { missing: false; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const traced = tracePhase('ssh -G');
    execFile(
      binary,
      args,
      { env, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        traced();
        const shown = remoteCommandLine([binary, ...args]);
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          logCommand('local', shown, { code: null, error: `${binary} was not found`, ms: Date.now() - started });
          return resolve({ missing: true });
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 255) : 0;
        logCommand('local', shown, { code, timedOut: error?.killed === true, stderr, ms: Date.now() - started });
        resolve({ missing: false, code, stdout, stderr });
      },
    );
  });
}

/**
 * Resolves `[user@]host` as ssh would under Nix. Never throws; a refused destination or an
 * unreadable config is a failure value.
 */
export async function resolveSshHost(
  destination: { user: string | undefined; host: string },
  options: ResolveOptions = {},
): Promise<ResolveResult> {
  const refusal = refusedDestination(destination.user, destination.host);
  if (refusal !== undefined) {
    return {
      ok: false,
      failure: {
        code: 'invalid-host',
        cause: `${refusal}.`,
        fix: 'Fix the store URI in column 1: ssh://[user@]host, where the host is a name or an address.',
      },
    };
  }
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  let localUser = 'root';
  try {
    localUser = userInfo().username;
  } catch {
    // No passwd entry: keep root, as ssh -G would fail anyway.
  }
  const nixOpts = parseNixSshOpts(options.nixSshOpts ?? env.NIX_SSHOPTS);
  // Our config-file setting goes first: a -F in NIX_SSHOPTS comes later and wins, as in ssh.
  const commandLine: SshCommandLine = {
    ...nixOpts,
    configFile: nixOpts.configFile ?? options.configFile,
    settings: [...nixOpts.settings],
  };
  if (options.port !== undefined) commandLine.settings.push({ name: 'port', value: options.port, flag: '-p' });
  if (options.identityFile !== undefined)
    commandLine.settings.push({ name: 'identityfile', value: options.identityFile, flag: '-i' });
  // ssh drops a -i file it cannot read (with a warning) and goes on as if it were not given.
  const dropped: string[] = [];
  const usable: SshCommandLine = {
    ...commandLine,
    settings: commandLine.settings.filter((setting) => {
      if (setting.name !== 'identityfile' || setting.flag !== '-i') return true;
      const file = expandTilde(setting.value, home);
      if (readable(file)) return true;
      dropped.push(file);
      return false;
    }),
  };
  const destinationText = destination.user === undefined ? destination.host : `${destination.user}@${destination.host}`;
  const notes = [...nixOpts.notes];

  const binary = options.sshBinary === undefined ? 'ssh' : options.sshBinary;
  if (binary !== null) {
    // Asked once per process while the config files stay as they are (sshGCache.ts).
    const args = sshGArguments(usable, destinationText);
    const question = JSON.stringify([binary, args, home]);
    const stamp = configStamp(usable.configFile, home);
    const kept = keptAnswer(question, stamp);
    const result =
      kept !== undefined
        ? { missing: false as const, code: 0, stdout: kept, stderr: '' }
        : await runSshG(binary, args, { ...env, HOME: home }, options.timeoutMs ?? 5000);
    if (kept === undefined && !result.missing && result.code === 0) keepAnswer(question, stamp, result.stdout);
    if (!result.missing) {
      if (result.code !== 0) {
        const why =
          result.stderr
            .trim()
            .split('\n')
            .filter((line) => !/^Pseudo-terminal/.test(line))
            .slice(-3)
            .join(' ') || `exit code ${result.code}`;
        return {
          ok: false,
          failure: {
            code: 'ssh-config-error',
            cause: `ssh cannot read its configuration for '${destination.host}': ${why}`,
            fix: 'Fix the ssh config file (or the -F / -o options in NIX_SSHOPTS) that ssh names.',
          },
        };
      }
      const settings = parseSshGOutput(result.stdout);
      return {
        ok: true,
        host: toResolvedHost(destination.host, settings, {
          home,
          localUser,
          commandLine,
          dropped,
          source: 'ssh -G',
          notes,
        }),
      };
    }
    notes.push(
      `No '${binary}' binary here: the ssh config files were read without ssh (Match blocks are not evaluated).`,
    );
  }
  const fallback = resolveFromConfigFiles({
    host: destination.host,
    user: destination.user,
    commandLine: usable,
    home,
    localUser,
  });
  const host = toResolvedHost(destination.host, fallback.settings, {
    home,
    localUser,
    commandLine,
    dropped,
    source: 'config files',
    notes: [...notes, ...fallback.notes],
  });
  return { ok: true, host: { ...host, skippedMatch: fallback.skippedMatch } };
}

/** The name ssh looks the host key up under: HostKeyAlias as is, else `host` or `[host]:port`. */
export function knownHostsName(host: Pick<ResolvedHost, 'hostKeyAlias' | 'hostName' | 'port'>): string {
  if (host.hostKeyAlias !== undefined) return host.hostKeyAlias;
  return host.port === 22 ? host.hostName : `[${host.hostName}]:${host.port}`;
}
