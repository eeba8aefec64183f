// Column 8 of a machines line: the builder's SSH host key, as base64 of a whole OpenSSH public
// key line (`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub`). Nix decodes it and hands the line to
// ssh as a known_hosts entry, so the raw `AAAA…` part alone (valid base64 too) passes Nix and
// then makes ssh refuse the host. This module says which of the two a column holds.
import { createHash } from 'node:crypto';
import { utils } from 'ssh2';

export interface HostPublicKey {
  /** `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, … */
  type: string;
  /** `SHA256:…` exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The comment after the key, often `root@host`. */
  comment: string;
  /** The key line ssh reads: `type base64-blob`. */
  line: string;
}

export type HostKeyReading =
  /** base64 of a public key line: what Nix and ssh want. */
  | { kind: 'key-line'; key: HostPublicKey }
  /** The bare key blob (the `AAAA…` part of a .pub file): Nix takes it, ssh refuses the host. */
  | { kind: 'raw-blob'; key: HostPublicKey; wrapped: string }
  /** A whole `ssh-ed25519 AAAA…` line pasted without base64 (its spaces split it into columns). */
  | { kind: 'not-a-key'; decoded: string };

/** The SHA256 fingerprint of a key blob, as OpenSSH prints it (no `=` padding). */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Reads a public key line (`ssh-ed25519 AAAA… comment`); undefined when it is not one. */
export function parsePublicKeyLine(line: string): HostPublicKey | undefined {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) return undefined;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return undefined;
  const blob = key.getPublicSSH();
  return {
    type: key.type,
    fingerprint: fingerprintOf(blob),
    comment: key.comment,
    line: `${key.type} ${blob.toString('base64')}`,
  };
}

/** The key type a key blob names in its first field (`00 00 00 0b ssh-ed25519 …`), if it names one. */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length < 1 || length > 64 || 4 + length > blob.length) return undefined;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : undefined;
}

/** SSH key types all start so; requiring it keeps other base64 in column 8 from passing for a bare key blob. */
const keyTypePrefix = /^(ssh-|ecdsa-|sk-)/;

/** What column 8 holds, given text Nix has already accepted as base64. */
export function readHostKeyColumn(base64Text: string): HostKeyReading {
  const bytes = Buffer.from(base64Text, 'base64');
  const decoded = bytes.toString('utf8');
  const key = parsePublicKeyLine(decoded);
  if (key) return { kind: 'key-line', key };
  const type = blobKeyType(bytes);
  if (type !== undefined && keyTypePrefix.test(type)) {
    const line = `${type} ${bytes.toString('base64')}`;
    const wrappedKey = parsePublicKeyLine(line);
    if (wrappedKey) return { kind: 'raw-blob', key: wrappedKey, wrapped: Buffer.from(line).toString('base64') };
  }
  return { kind: 'not-a-key', decoded };
}

/** Column 8 for a public key line, as the quick fixes and the "pin host key" action write it. */
export function hostKeyColumnFor(publicKeyLine: string): string {
  return Buffer.from(publicKeyLine.trim()).toString('base64');
}
