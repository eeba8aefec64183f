// Reading a lab builder's sshd log (test/system/fixture/host.ts runs sshd with LogLevel VERBOSE):
// sshd logs "Connection from <address> port <port> on …" for every TCP connection it accepts,
// before any key exchange or authentication, so the count includes connections that never log in.
import { readFileSync } from 'node:fs';

/** How many connections sshd has logged in this log text. */
export function countConnections(log: string): number {
  return log.match(/^Connection from \S+ port \d+ on /gm)?.length ?? 0;
}

/** The connections logged so far in all of these sshd logs. */
export function connectionsIn(logs: string[]): number {
  return logs.reduce((sum, log) => sum + countConnections(readFileSync(log, 'utf8')), 0);
}
