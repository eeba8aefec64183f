// Commands on a builder. ssh hands the command line to the remote user's shell (`$SHELL -c`),
// so every command is built here, from an argument list, by the one quoting function; nothing
// is ever pasted into a command line any other way. Store paths are checked against Nix's own
// rules before they are used. `exec` runs a command with a timeout, an abort signal and a cap
// on how much output is kept; a command it gives up on is killed on the builder with all it
// started (remoteProcessGroup.ts says how).
import type { Client, ClientChannel } from 'ssh2';
import { log, logCommand } from '../context/log';
import { killGroupArgs, pidIn, TELL_PID, withoutPidLine } from './remoteProcessGroup';

/**
 * Characters that never need quoting in a shell word, in POSIX shells, zsh and fish alike. Not
 * `=`: zsh expands a word that starts with it (`=cmd` is the path of cmd), and a first word
 * with one is an assignment in POSIX shells.
 */
const plainWord = /^[A-Za-z0-9_@%+:,./-]+$/;

/**
 * Quotes one argument for the builder user's login shell: as is when it is plain, else in single
 * quotes, with every `'` and `\` written outside them as `\'` and `\\`. POSIX shells (sh,
 * bash, dash, zsh) and fish read that the same way; the usual `'\''` form is not enough for
 * fish, where `\\` and `\'` are escapes even inside single quotes (a trailing backslash broke
 * the command). The empty string becomes `''`. NUL cannot be passed: refused.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument contains a NUL byte, which no shell command can carry');
  if (arg !== '' && plainWord.test(arg)) return arg;
  if (arg === '') return "''";
  return arg
    .split(/([\\'])/)
    .filter((part) => part !== '')
    .map((part) => (part === '\\' ? '\\\\' : part === "'" ? "\\'" : `'${part}'`))
    .join('');
}

/** The command line for an argument list: each argument quoted, joined by spaces. */
export function remoteCommandLine(args: readonly string[]): string {
  if (args.length === 0) throw new Error('an empty command');
  return args.map(shellQuote).join(' ');
}

/** Nix's base-32 alphabet (no e, o, t, u). */
const nixBase32 = '0123456789abcdfghijklmnpqrsvwxyz';
const storePathName = /^[A-Za-z0-9+\-._?=]+$/;

export interface StorePathParts {
  storeDir: string;
  hash: string;
  name: string;
}

/**
 * Checks a store path the way Nix's `parseStorePath` does: `<storeDir>/<32 base-32 chars>-<name>`,
 * the name of 1-211 characters from `A-Za-z0-9+-._?=`, not starting with `.`. Returns the parts,
 * or the reason it is not one.
 */
export function parseStorePath(path: string, storeDir = '/nix/store'): StorePathParts | { error: string } {
  const prefix = `${storeDir}/`;
  if (!path.startsWith(prefix)) return { error: `'${path}' is not in ${storeDir}` };
  const base = path.slice(prefix.length);
  if (base.includes('/')) return { error: `'${path}' is a path inside a store path, not a store path` };
  if (base.length < 34 || base[32] !== '-') return { error: `'${path}' has no 32-character hash part` };
  const hash = base.slice(0, 32);
  for (const char of hash)
    if (!nixBase32.includes(char)) return { error: `'${path}' has a character outside Nix's base-32 in its hash` };
  const name = base.slice(33);
  if (name.length > 211) return { error: `the name of '${path}' is longer than 211 characters` };
  if (name.startsWith('.')) return { error: `the name of '${path}' starts with a period` };
  if (!storePathName.test(name))
    return { error: `the name of '${path}' has characters Nix does not allow (only A-Z a-z 0-9 + - . _ ? =)` };
  return { storeDir, hash, name };
}

export function isStorePath(path: string, storeDir?: string): boolean {
  return !('error' in parseStorePath(path, storeDir));
}

/** Throws unless every path is a valid store path (use before putting them in a command). */
export function assertStorePaths(paths: readonly string[], storeDir?: string): void {
  for (const path of paths) {
    const parsed = parseStorePath(path, storeDir);
    if ('error' in parsed) throw new Error(parsed.error);
  }
}

export interface ExecOptions {
  /** Kill the command and report `timedOut` after this long (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes of stdout (and, separately, stderr) kept; the rest is dropped (default 1 MiB). */
  maxOutputBytes?: number;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Buffer;
  /**
   * Run the command as it is, without learning its PID: it cannot be killed on the builder when
   * given up on (for the kill itself). Default false.
   */
  plain?: boolean;
}

/** How long the kill of a command given up on may take before exec returns anyway. */
const KILL_TIMEOUT_MS = 5000;
/**
 * How long a command given up on before its PID line reached us may take to send it: the
 * builder may already run it (its line is on the way, later on a loaded machine), and without
 * the PID only the channel signal can stop it, which a command a shell waits on does not get.
 */
const PID_WAIT_MS = 2000;

export interface ExecResult {
  /** Exit code; null when it ended by a signal, or did not end (timeout, abort, lost connection). */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Output beyond `maxOutputBytes` was dropped. */
  truncated: boolean;
  timedOut: boolean;
  aborted: boolean;
  /** The channel could not be opened or the connection dropped. */
  error: string | undefined;
  ms: number;
}

/**
 * Starts the command; `onChannel` runs synchronously with the channel, so no event is missed
 * (ssh2 may deliver the output, the exit status and the close in one packet batch).
 */
function startCommand(
  client: Client,
  args: readonly string[],
  onChannel: (error: Error | undefined, channel: ClientChannel | undefined) => void,
  stoppable = false,
): void {
  let line: string;
  try {
    line = stoppable
      ? `${remoteCommandLine(['/bin/sh', '-c', TELL_PID])}; ${remoteCommandLine(args)}`
      : remoteCommandLine(args);
    client.exec(line, (error, channel) => onChannel(error ?? undefined, error ? undefined : channel));
  } catch (error) {
    onChannel(error instanceof Error ? error : new Error(String(error)), undefined);
  }
}

/** What the log calls each connection: the host as the machines line names it (connect.ts says). */
const builderNames = new WeakMap<Client, string>();

/** Names the builder of a connection in the log lines of its commands: `user@alias`. */
export function nameBuilder(client: Client, name: string): void {
  builderNames.set(client, name);
}

function builderOf(client: Client): string {
  return `ssh ${builderNames.get(client) ?? 'builder'}`;
}

/** The command as the log shows it: the words as given, quoted as the builder's shell reads them. */
function shownCommand(args: readonly string[]): string {
  try {
    return remoteCommandLine(args);
  } catch (error) {
    return `${args.join(' ')} (${(error as Error).message})`;
  }
}

/** Opens a channel running the command (for protocols spoken over stdin/stdout). */
export function openCommand(client: Client, args: readonly string[]): Promise<ClientChannel> {
  log.info(`${builderOf(client)}: started ${shownCommand(args)}`);
  return new Promise((resolve, reject) =>
    startCommand(client, args, (error, channel) => (error || !channel ? reject(error) : resolve(channel))),
  );
}

/** Runs a command and collects its output. Never throws: failures are in the result. */
export function exec(client: Client, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const started = Date.now();
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    let code: number | null = null;
    let exitSignal: string | null = null;
    let timedOut = false;
    let aborted = false;
    let channel: ClientChannel | undefined;
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const stderr = withoutPidLine(Buffer.concat(err).toString('utf8'));
      logCommand(builderOf(client), shownCommand(args), {
        code,
        signal: exitSignal,
        timedOut,
        aborted,
        error,
        stderr,
        ms: Date.now() - started,
      });
      resolve({
        code,
        signal: exitSignal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
        truncated,
        timedOut,
        aborted,
        error,
        ms: Date.now() - started,
      });
    };
    let pid: number | undefined;
    /** Told when the PID line arrives (a stop waiting for it). */
    let onPid: (() => void) | undefined;
    /** Given up on: only the kill's end (not the channel's close) ends the exec now. */
    let stopping = false;
    /** The PID, once its line came, the channel closed, or PID_WAIT_MS passed. */
    const pidSoon = (): Promise<void> => {
      const open = channel;
      if (pid !== undefined || open === undefined || options.plain) return Promise.resolve();
      return new Promise((resolve) => {
        const settle = () => {
          clearTimeout(waited);
          onPid = undefined;
          open.off('close', settle);
          resolve();
        };
        const waited = setTimeout(settle, PID_WAIT_MS);
        onPid = settle;
        open.once('close', settle);
      });
    };
    const stop = () => {
      if (done || stopping) return;
      stopping = true;
      clearTimeout(timer);
      try {
        channel?.signal('KILL');
      } catch {
        // Not every server honours signals; the kill below does not depend on it.
      }
      // The channel stays open until the PID is known: its line comes on the channel's stderr.
      void pidSoon().then(() => {
        channel?.close();
        // The command and its children, over a second channel; exec returns once they are gone
        // (or the kill took too long, or the connection is gone). No PID still: the login shell
        // has not reached the command (a hung startup file), and the signal above is all there is.
        if (pid === undefined) {
          finish();
          return;
        }
        void exec(client, killGroupArgs(pid, 'KILL'), { timeoutMs: KILL_TIMEOUT_MS, plain: true }).then(() => finish());
      });
    };
    const onAbort = () => {
      aborted = true;
      stop();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    if (options.signal?.aborted) {
      aborted = true;
      finish();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    startCommand(
      client,
      args,
      (error, opened) => {
        if (error || opened === undefined) {
          finish(`the command could not be started: ${error?.message ?? 'no channel'}`);
          return;
        }
        channel = opened;
        if (done) {
          opened.close();
          return;
        }
        const keep = (chunks: Buffer[], chunk: Buffer, used: number): number => {
          const room = limit - used;
          if (room <= 0) {
            truncated = true;
            return used;
          }
          if (chunk.length > room) {
            truncated = true;
            chunks.push(chunk.subarray(0, room));
            return limit;
          }
          chunks.push(chunk);
          return used + chunk.length;
        };
        opened.on('data', (chunk: Buffer) => {
          outBytes = keep(out, chunk, outBytes);
        });
        opened.stderr.on('data', (chunk: Buffer) => {
          errBytes = keep(err, chunk, errBytes);
          if (pid === undefined && !options.plain) {
            pid = pidIn(Buffer.concat(err).toString('utf8'));
            if (pid !== undefined) onPid?.();
          }
        });
        opened.on('exit', (exitCode: number | null, signalName?: string) => {
          // Given up on, it has no exit of its own: what it reports now is our kill.
          if (stopping) return;
          code = typeof exitCode === 'number' ? exitCode : null;
          exitSignal = signalName ?? null;
        });
        // ssh2 passes the exit code to 'close' too.
        opened.on('close', (closeCode?: number | null) => {
          if (stopping) return;
          if (code === null && typeof closeCode === 'number') code = closeCode;
          finish();
        });
        opened.on('error', (error: Error) => {
          if (!stopping) finish(error.message);
        });
        if (options.stdin !== undefined) opened.end(options.stdin);
        else opened.end();
      },
      options.plain !== true,
    );
  });
}
