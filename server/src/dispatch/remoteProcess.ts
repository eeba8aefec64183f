// A long-running Nix command on a builder (the offload's `nix-store --serve --write`) that we can
// really stop.
//
// Closing an SSH channel does not stop the command behind it: sshd closes its pipes, and a
// `nix-store --realise` waiting on a build that prints nothing runs on (seen on the lab: after
// the channel and even the connection closed, nix-store and the builder's `sleep` lived until the
// sleep ended). So every such command is started as
//     /bin/sh -c 'echo "@@nixrb-pid $$" >&2; exec "$@"' sh nix-store …
// which tells us its PID on stderr before it becomes the command (exec keeps the PID). Stopping
// it sends SIGTERM two ways, each enough on its own where it works: the SSH channel signal
// (honoured by OpenSSH; verified on the lab's OpenSSH 9.2: "error: interrupted by the user"), and
// `kill -TERM <pid>` over a second channel (any sshd). SIGTERM lets nix-store clean up: a daemon
// client's nix-daemon worker sees its client go and kills the build (on the lab the builder's
// `sleep` was gone within ~20 ms); a nix-store that builds itself kills its builder. Only if
// the command is still there after a grace period does it get SIGKILL.
//
// The command line is built by the one quoting function (remoteCommand.ts via openCommand); the
// script is a constant and everything variable is an argument.
import type { Client, ClientChannel } from 'ssh2';
import { exec, openCommand } from '../ssh/remoteCommand';
import { LineSplitter, Tail } from './streamParts';

/** Prints the shell's PID (which `exec` hands to the command) on stderr, then runs "$@". */
const WITH_PID = 'echo "@@nixrb-pid $$" >&2; exec "$@"';

const pidLine = /^@@nixrb-pid (\d+)$/;

export interface RemoteExit {
  /** Exit code; null when the command ended by a signal or the channel closed without one. */
  code: number | null;
  signal: string | null;
  /** The channel closed with neither an exit code nor a signal: the connection dropped. */
  lost: boolean;
  stderrTail: string[];
}

export interface RemoteProcess {
  channel: ClientChannel;
  /** The command's PID on the builder, once it has told us. */
  readonly pid: number | undefined;
  done: Promise<RemoteExit>;
  /** Stops the command (see above); resolves when its channel closed or the grace ran out. */
  kill(): Promise<void>;
  /**
   * The connection is gone: nothing reaches the builder any more, so no signal is sent (its
   * sshd ends the session's commands when it notices; a builder's nix-store then fails on its
   * closed pipes). Stops reading the channel, destroys it, and `done` resolves now, as lost.
   */
  abandon(): void;
}

export interface RemoteProcessOptions {
  onStderrLine?: (line: string) => void;
  tailLines?: number;
  /** How long SIGTERM has before SIGKILL (default 5 s). */
  killGraceMs?: number;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Starts `args` on the builder. Throws when the channel cannot be opened (the connection is
 * gone, or the server refused another session). The caller owns stdin and must read or pipe
 * stdout (`channel`): an unread channel never reports that it closed.
 */
export async function startRemote(
  client: Client,
  args: readonly string[],
  options: RemoteProcessOptions = {},
): Promise<RemoteProcess> {
  const channel = await openCommand(client, ['/bin/sh', '-c', WITH_PID, 'sh', ...args]);
  let pid: number | undefined;
  let closed = false;
  let code: number | null = null;
  let signal: string | null = null;
  const tail = new Tail(options.tailLines ?? 25);
  const lines = new LineSplitter((line) => {
    const marker = pid === undefined ? pidLine.exec(line) : null;
    if (marker) {
      pid = Number(marker[1]);
      return;
    }
    tail.push(line);
    options.onStderrLine?.(line);
  });
  channel.stderr.on('data', (chunk: Buffer) => lines.push(chunk));
  channel.on('exit', (exitCode: number | null, signalName?: string) => {
    if (typeof exitCode === 'number') code = exitCode;
    if (typeof signalName === 'string') signal = signalName;
  });
  let settle: (exit: RemoteExit) => void = () => undefined;
  const done = new Promise<RemoteExit>((resolve) => {
    settle = resolve;
    channel.on('close', () => {
      closed = true;
      lines.flush();
      resolve({ code, signal, lost: code === null && signal === null, stderrTail: tail.get() });
    });
    // ssh2 reports a channel error and then closes it; the close carries the result.
    channel.on('error', () => undefined);
  });

  let killing: Promise<void> | undefined;
  const kill = () => {
    killing ??= (async () => {
      if (closed) return;
      // An unread channel never reports that it closed: whatever it was piped into may be gone
      // (a killed local import), so from now on its output is read and dropped.
      channel.unpipe();
      channel.resume();
      try {
        channel.signal('TERM');
      } catch {
        // The server may not take signals; the kill below does not depend on it.
      }
      // The PID may still be on its way if we stop right after starting.
      for (let i = 0; pid === undefined && !closed && i < 20; i++) await wait(25);
      const grace = options.killGraceMs ?? 5000;
      if (pid !== undefined && !closed) await exec(client, ['kill', '-TERM', String(pid)], { timeoutMs: grace });
      const deadline = Date.now() + grace;
      while (!closed && Date.now() < deadline) await wait(25);
      if (!closed && pid !== undefined) await exec(client, ['kill', '-KILL', String(pid)], { timeoutMs: grace });
      for (let i = 0; !closed && i < 40; i++) await wait(25);
      if (!closed) channel.close();
    })();
    return killing;
  };
  const abandon = () => {
    if (closed) return;
    closed = true;
    channel.unpipe();
    try {
      channel.destroy();
    } catch {
      // Its connection is gone; there is nothing left to close on the wire.
    }
    lines.flush();
    settle({ code, signal, lost: true, stderrTail: tail.get() });
  };
  return {
    channel,
    get pid() {
      return pid;
    },
    done,
    kill,
    abandon,
  };
}
