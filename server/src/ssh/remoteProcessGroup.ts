// Stopping a command on a builder for good. Closing its SSH channel does not: sshd closes the
// pipes and signals only the session's first process (the login shell), so a command's
// children run on (seen on the lab: a hung remote-program's `sleep` outlived the probe). So a
// command we may give up on is started as
//     /bin/sh -c 'echo "@@nixrb-pid $PPID" >&2'; <the command>
// The login shell still runs the command itself, as Nix has it do (its PATH, its "command not
// found" words, its exit code 127), and first tells us its own PID: sshd made it the leader of
// the session's process group, so killing that group over a second channel ends the command
// and everything it started. The marker goes to stderr before the command runs; the caller
// strips it from what it shows.

/**
 * Run before the command, as `/bin/sh -c TELL_PID`: prints the login shell's PID (the parent of
 * this sh) on stderr. Written for sh, so it works whatever the login shell (fish has no `$$`).
 */
export const TELL_PID = 'echo "@@nixrb-pid $PPID" >&2';

const pidLine = /^@@nixrb-pid (\d+)\r?\n/m;

/** The PID the marker line names, once stderr holds it. */
export function pidIn(stderr: string): number | undefined {
  const match = pidLine.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/** Stderr without the marker line. */
export function withoutPidLine(stderr: string): string {
  return stderr.replace(pidLine, '');
}

/**
 * Kills the process group led by `pid` (the command's login shell), or the shell alone where
 * it leads no group (an sshd that did not make it a session leader). A group with that id can
 * only be the shell's own while the shell lives, so nothing else is hit. The arguments of a
 * plain command (run unwrapped, so a hung kill cannot start another kill). `-"$1"`, not
 * `-- -"$1"`: dash's kill takes no `--` (it fails with "Illegal number").
 */
export function killGroupArgs(pid: number, signal: 'KILL' | 'TERM'): string[] {
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no process group to kill: ${pid}`);
  return ['/bin/sh', '-c', `kill -${signal} -"$1" 2>/dev/null || kill -${signal} "$1"`, 'sh', String(pid)];
}
