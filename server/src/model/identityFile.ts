// Column 3 of a machines line: the SSH private key Nix passes to ssh with `-i`. Nix never reads
// it; ssh does, and with a multi-user install ssh runs as root under the nix-daemon, which cannot
// ask for a passphrase. These checks tell a key that will work from one that silently won't.
import { constants, accessSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { utils } from 'ssh2';
import { readRegularFileBytes, sizeInWords } from './regularFile';

/** ssh's own cap on a key file (sshkey.h, MAX_KEY_FILE_SIZE): ssh refuses a larger one. */
export const maxKeyFileSize = 1024 * 1024;

export type IdentityFileState =
  | { kind: 'ok'; path: string; type: string }
  | { kind: 'missing'; path: string }
  | { kind: 'unreadable'; path: string; reason: string }
  | { kind: 'encrypted'; path: string }
  | { kind: 'not-a-private-key'; path: string; reason: string };

/** `~` and `~/…` expanded as ssh expands them for `-i`, with `home` as the user's home. */
export function expandTilde(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home}${path.slice(1)}`;
  return path;
}

/** Reads the key file the way ssh would; never puts the key's content in a message. */
export function inspectIdentityFile(rawPath: string, home?: string): IdentityFileState {
  const path = expandTilde(rawPath, home);
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return { kind: 'unreadable', path, reason: 'it is a directory' };
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing', path };
    return { kind: 'unreadable', path, reason: code === 'EACCES' ? 'permission denied' : String(code) };
  }
  // Never opens a FIFO or a device (column 3 may name /dev/zero), never reads past ssh's cap.
  const read = readRegularFileBytes(path, maxKeyFileSize);
  if (read.kind === 'special') return { kind: 'unreadable', path, reason: `it is a ${read.type}, not a key file` };
  if (read.kind === 'too-large')
    return {
      kind: 'not-a-private-key',
      path,
      reason: `it is ${sizeInWords(read.size)}, larger than any key (ssh refuses key files over 1 MiB)`,
    };
  if (read.kind === 'missing') return { kind: 'missing', path };
  if (read.kind !== 'bytes')
    return { kind: 'unreadable', path, reason: read.kind === 'failed' ? read.code : 'it is a directory' };
  const content = read.bytes;
  const parsed = utils.parseKey(content);
  if (parsed instanceof Error) {
    // ssh2 says "Encrypted … but no passphrase given" for every encrypted format it reads.
    if (/encrypted/i.test(parsed.message) || /ENCRYPTED/.test(content.toString('latin1', 0, 200)))
      return { kind: 'encrypted', path };
    return { kind: 'not-a-private-key', path, reason: 'it is not an SSH private key ssh can read' };
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey())
    return {
      kind: 'not-a-private-key',
      path,
      reason: 'it is a public key; column 3 wants the private key (the file without .pub)',
    };
  return { kind: 'ok', path, type: key.type };
}
