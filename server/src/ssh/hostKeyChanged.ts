// What to tell the user when a builder presents another key than the one on record (column 8 or
// known_hosts): ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED". A changed key is never one
// click from trusted: the way out is to check the new fingerprint on the builder itself, by a
// path that does not go through this connection, then remove the old key by hand; only then is
// the key unknown, and pinning it is offered like for any new host. The health finding and the
// "pin host key" refusal say it with these words.
import { shellQuote } from './remoteCommand';

/** Where the expected key is recorded. */
export type RecordedKey =
  { kind: 'column-8' } | { kind: 'known-hosts'; file: string; line: number; lookupName: string };

export interface ChangedKey {
  /** The builder as written (alias or host name). */
  alias: string;
  keyType: string;
  fingerprint: string;
  expectedFingerprint: string;
  /** Where the expected key is; undefined: only `recordedAs` is known. */
  recorded: RecordedKey | undefined;
  /** How to name the place when `recorded` is undefined. */
  recordedAs?: string;
}

/** `ssh-keygen -lf` of the builder's host key file of this type: run on the builder. */
export function fingerprintCommand(keyType: string): string {
  const name = keyType.replace(/^ssh-/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ecdsa');
  return `ssh-keygen -lf /etc/ssh/ssh_host_${name}_key.pub`;
}

/** The command that removes the old key from that known_hosts file (ssh prints the same). */
function removeOldKeyCommand(recorded: Extract<RecordedKey, { kind: 'known-hosts' }>): string {
  return ['ssh-keygen', '-R', recorded.lookupName, '-f', recorded.file].map(shellQuote).join(' ');
}

/**
 * The advice, with each command written by `asCode` (the health finding marks them as code
 * spans; elsewhere they stand between backticks).
 */
export function hostKeyChangedAdvice(
  changed: ChangedKey,
  asCode: (command: string) => string = (command) => `\`${command}\``,
): string {
  const recorded = changed.recorded;
  const where =
    recorded === undefined
      ? (changed.recordedAs ?? 'the recorded key')
      : recorded.kind === 'column-8'
        ? 'column 8 of its machines line'
        : `${recorded.file} line ${recorded.line}`;
  const remove =
    recorded?.kind === 'known-hosts'
      ? `remove the old key with ${asCode(removeOldKeyCommand(recorded))}, then check the builder again and pin the new key`
      : `replace the old key in ${where} with the new one by hand`;
  return (
    `REMOTE HOST IDENTIFICATION HAS CHANGED: ${changed.alias} presented the ${changed.keyType} key ${changed.fingerprint}, but ${where} expects ${changed.expectedFingerprint}. ` +
    'Someone may be intercepting the connection, or the builder got a new key (a reinstall). Nix stops with "Host key verification failed.", and nothing here trusts the new key for you. ' +
    `Verify the new fingerprint out of band: run ${asCode(fingerprintCommand(changed.keyType))} on the builder's own console (or ask its admin), not over this connection. Only if it prints ${changed.fingerprint}, ${remove}.`
  );
}
