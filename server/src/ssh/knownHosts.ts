// known_hosts files as OpenSSH reads them (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): optional
// `@cert-authority` / `@revoked` marker, host patterns (comma list with `*`, `?` and `!`
// negation, `[host]:port` for other ports, or one hashed name `|1|salt|HMAC-SHA1(salt, name)`
// as `ssh-keygen -H` writes it), key type, base64 key blob, comment.
import { createHmac } from 'node:crypto';
import { readRegularFile } from '../model/regularFile';
import { join } from 'node:path';
import { blobKeyType } from '../model/hostKey';
import { matchPattern } from './sshConfigFallback';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number. */
  line: number;
  marker: 'cert-authority' | 'revoked' | undefined;
  /** The host field as written (a pattern list, or `|1|salt|hash`). */
  hosts: string;
  hashed: boolean;
  keyType: string;
  /** The key blob (what the base64 decodes to). */
  key: Buffer;
}

/** Reads the text of one known_hosts file; lines that are not entries are skipped, as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const word = fields.shift()!.toLowerCase();
      if (word === '@cert-authority') marker = 'cert-authority';
      else if (word === '@revoked') marker = 'revoked';
      else return;
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return;
    const key = Buffer.from(base64, 'base64');
    if (blobKeyType(key) !== keyType) return;
    entries.push({ file, line: index + 1, marker, hosts, hashed: hosts.startsWith('|1|'), keyType, key });
  });
  return entries;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `ssh-keygen -H` writes a name. */
export function hashHostName(name: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${hash}`;
}

/** Whether a hashed host field is this name. */
function hashedNameMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  if (salt.length === 0) return false;
  return hashHostName(name, salt) === field;
}

/** ssh's `match_hostname`: patterns are compared in lower case; any `!pattern` match refuses. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedNameMatches(field, name);
  const lowerName = name.toLowerCase();
  let matched = false;
  for (const raw of field.split(',')) {
    const pattern = raw.toLowerCase();
    if (pattern.startsWith('!')) {
      if (matchPattern(lowerName, pattern.slice(1))) return false;
    } else if (pattern !== '' && matchPattern(lowerName, pattern)) {
      matched = true;
    }
  }
  return matched;
}

/** Reads a known_hosts file; a missing or unreadable file has no entries (ssh skips it too). */
export function readKnownHostsFile(file: string): KnownHostEntry[] {
  try {
    // A regular file of at most 64 MiB (a known_hosts named in an ssh config could be a FIFO).
    const read = readRegularFile(file, 64 * 1024 * 1024);
    return read.kind === 'text' ? parseKnownHosts(read.text, file) : [];
  } catch {
    return [];
  }
}

/** The entries of these files whose hosts field matches `name`, in file order. */
export function knownHostsFor(name: string, entries: readonly KnownHostEntry[]): KnownHostEntry[] {
  return entries.filter((entry) => hostFieldMatches(entry.hosts, name));
}

/** The unmarked entries for `name` (no `@revoked`, no `@cert-authority`): the keys it is known by. */
export function plainKeysFor(name: string, entries: readonly KnownHostEntry[]): KnownHostEntry[] {
  return knownHostsFor(name, entries).filter((entry) => entry.marker === undefined);
}

/** The files ssh reads by default for these users' homes: each ~/.ssh/known_hosts{,2}, then the system's. */
export function knownHostsFiles(homes: readonly string[]): string[] {
  const user = [...new Set(homes)].flatMap((home) => [
    join(home, '.ssh', 'known_hosts'),
    join(home, '.ssh', 'known_hosts2'),
  ]);
  return [...user, '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
}

export interface KnownHostName {
  host: string;
  /** Set for a `[host]:port` entry. */
  port?: string;
  file: string;
}

/**
 * The names written in plain host entries, first occurrence kept: what a user can pick a host
 * from. Hashed fields hide their names, patterns are not names, and marked lines (`@revoked`,
 * `@cert-authority`) do not say a host is reachable.
 */
export function plainHostNames(entries: readonly KnownHostEntry[]): KnownHostName[] {
  const names = new Map<string, KnownHostName>();
  for (const entry of entries) {
    if (entry.marker !== undefined) continue;
    for (const pattern of entry.hosts.split(',')) {
      if (pattern === '' || pattern.startsWith('|') || /[*?!]/.test(pattern)) continue;
      const bracketed = /^\[(.+)\]:(\d+)$/.exec(pattern);
      const name: KnownHostName = bracketed
        ? { host: bracketed[1]!, port: bracketed[2]!, file: entry.file }
        : { host: pattern, file: entry.file };
      // ssh compares names in lower case: names that differ only in case are one host.
      const key = pattern.toLowerCase();
      if (!names.has(key)) names.set(key, name);
    }
  }
  return [...names.values()];
}
