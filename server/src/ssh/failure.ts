// What went wrong reaching a builder, as a value: a stable code, the cause in plain words and
// the fix. Never a stack trace, never key material or a passphrase. The health layer turns
// these into findings (health/findings.ts uses the same codes).
import type { HostKeyVerdict } from './hostKeyCheck';

export type SshFailureCode =
  /** The store URI's host or user would reach ssh as an option, or is empty. */
  | 'invalid-host'
  /** `ssh -G` refused the configuration. */
  | 'ssh-config-error'
  | 'dns-failed'
  | 'connection-refused'
  | 'host-unreachable'
  | 'connect-timeout'
  /** TCP is up but no SSH banner came. */
  | 'banner-timeout'
  /** Banner came, key exchange did not finish (timeout, no common algorithm, garbage). */
  | 'handshake-failed'
  | 'host-key-mismatch'
  | 'host-key-revoked'
  | 'host-key-unknown'
  | 'auth-failed'
  /** The server accepts a key that has a passphrase, and none was given. */
  | 'key-encrypted'
  /** The key file named in column 3 cannot be read (and no other key got in). */
  | 'key-unreadable'
  /** A ProxyJump hop failed (the cause says which and why). */
  | 'proxy-jump-failed'
  /** ssh_config has a ProxyCommand, which the probe does not run. */
  | 'proxy-command-unsupported'
  /** The connection dropped, or something else we did not foresee. */
  | 'connection-lost'
  | 'aborted';

export interface SshFailure {
  code: SshFailureCode;
  /** What happened, in the user's words (one or two sentences). */
  cause: string;
  /** What to do about it. */
  fix: string;
  /** The host key verdict, for host-key-* failures. */
  hostKey?: HostKeyVerdict;
  /** For auth failures: the methods the server still allowed. */
  methodsLeft?: string[];
  /** For key-encrypted / key-unreadable: the key file concerned. */
  keyFile?: string;
}

/** Words from an error that are safe to show: the message only, one line, bounded. */
export function safeMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 300);
}
