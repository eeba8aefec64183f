// Local Nix commands for the offload and the distributed build: always an argument list given
// to spawn (never a shell), stderr read line by line (for the live log and an error's tail),
// stdout either collected (small answers) or left to the caller to pipe (store exports), and a
// kill that asks nicely first, because Nix cleans up (kills its builders, releases locks) on
// SIGTERM but cannot on SIGKILL.
// Each command leads a process group of its own (`detached`), and a kill goes to the whole
// group: whatever the command started (a substituter, a build hook, a helper a wrapper script
// runs) goes with it, instead of living on with the store's locks. A group of its own also keeps
// a terminal's Ctrl+C from reaching the command behind our back: the caller cancels it, in order.
// Killing also destroys the pipes to it, so nothing of ours still writes into or waits on it.
import { logCommand } from '../context/log';
import { remoteCommandLine } from '../ssh/remoteCommand';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { LineSplitter, Tail } from './streamParts';

export interface LocalExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout, when it was collected (`stdout: 'collect'`). */
  stdout: string;
  /** The last lines of stderr. */
  stderrTail: string[];
  /** The command could not be started (ENOENT …). */
  error: string | undefined;
}

export interface LocalProcess {
  child: ChildProcess;
  /** The command's stdin when `stdin: 'pipe'`. */
  stdin: Writable | undefined;
  /** The command's stdout when `stdout: 'pipe'`. */
  stdout: Readable | undefined;
  done: Promise<LocalExit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  kill(graceMs?: number): Promise<void>;
}

export interface LocalProcessOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: 'ignore' | 'pipe';
  /** `collect`: keep it for the result (capped); `pipe`: the caller reads it. Default collect. */
  stdout?: 'collect' | 'pipe' | 'ignore';
  onStderrLine?: (line: string) => void;
  tailLines?: number;
  /** Cap of collected stdout (default 64 MiB: a closure's path list). */
  maxStdoutBytes?: number;
}

export function startLocal(command: string, args: readonly string[], options: LocalProcessOptions = {}): LocalProcess {
  const startedAt = Date.now();
  const stdoutMode = options.stdout ?? 'collect';
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: [options.stdin ?? 'ignore', stdoutMode === 'ignore' ? 'ignore' : 'pipe', 'pipe'],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      // The group's ID is the leader's PID; a negative PID signals the whole group.
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is gone already (or was never started).
      child.kill(signal);
    }
  };
  const tail = new Tail(options.tailLines ?? 25);
  const lines = new LineSplitter((line) => {
    tail.push(line);
    options.onStderrLine?.(line);
  });
  const chunks: Buffer[] = [];
  let kept = 0;
  const cap = options.maxStdoutBytes ?? 64 * 1024 * 1024;
  if (stdoutMode === 'collect') {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (kept >= cap) return;
      chunks.push(chunk);
      kept += chunk.length;
    });
  }
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk));
  // Writing into a command that already exited is reported by its exit code, not as a crash.
  child.stdin?.on('error', () => undefined);
  let exited = false;
  const done = new Promise<LocalExit>((resolve) => {
    let startError: string | undefined;
    child.on('error', (error) => {
      startError = error.message;
      if (child.pid === undefined) {
        exited = true;
        logCommand('local', remoteCommandLine([command, ...args]), {
          code: null,
          error: error.message,
          ms: Date.now() - startedAt,
        });
        resolve({ code: null, signal: null, stdout: '', stderrTail: [error.message], error: error.message });
      }
    });
    child.on('close', (code, signal) => {
      exited = true;
      lines.flush();
      logCommand('local', remoteCommandLine([command, ...args]), {
        code,
        signal,
        error: startError,
        stderr: tail.get().join('\n'),
        ms: Date.now() - startedAt,
      });
      resolve({
        code,
        signal,
        stdout: Buffer.concat(chunks).toString('utf8'),
        stderrTail: tail.get(),
        error: startError,
      });
    });
  });
  return {
    child,
    stdin: child.stdin ?? undefined,
    stdout: stdoutMode === 'pipe' ? (child.stdout ?? undefined) : undefined,
    done,
    async kill(graceMs = 3000) {
      if (exited) return;
      // Node reports the end only once stdout is drained; what it was piped into may be gone.
      child.stdout?.unpipe();
      child.stdout?.resume();
      // Nothing more goes in: an import must not take half a stream for a whole one.
      child.stdin?.destroy();
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to the end, stdout collected. */
export function runLocal(
  command: string,
  args: readonly string[],
  options: Omit<LocalProcessOptions, 'stdout' | 'stdin'> & { signal?: AbortSignal } = {},
): Promise<LocalExit> {
  const started = startLocal(command, args, { ...options, stdout: 'collect' });
  const onAbort = () => void started.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  return started.done.finally(() => options.signal?.removeEventListener('abort', onAbort));
}
