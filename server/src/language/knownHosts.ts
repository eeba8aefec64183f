// The hosts and keys of the user's known_hosts files, read without ssh: host names for
// completing column 1 (hashed entries hide their names, so they are left out), and the key lines
// of one host for completing column 8 (hashed entries are matched with their HMAC, as ssh does).
import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface KnownHostLine {
  /** The host patterns of the line (`host`, `[host]:port`, `|1|salt|hash`), comma-separated in the file. */
  hosts: string[];
  /** `type base64`: what column 8 wraps in base64. */
  keyLine: string;
  type: string;
  file: string;
}

/** The known_hosts files ssh reads by default for a user (and the system-wide one). */
export function knownHostsFiles(homes: readonly string[] = [homedir()]): string[] {
  return [...new Set(homes)].flatMap((home) => [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]).concat('/etc/ssh/ssh_known_hosts');
}

const cache = new Map<string, { mtimeMs: number; size: number; lines: KnownHostLine[] }>();

function readKnownHosts(file: string): KnownHostLine[] {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return [];
  }
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.lines;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: KnownHostLine[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    // `@cert-authority` and `@revoked` lines are not host keys to pin.
    if (fields[0].startsWith('@')) continue;
    const [hosts, type, blob] = fields;
    if (hosts === undefined || type === undefined || blob === undefined) continue;
    lines.push({ hosts: hosts.split(','), keyLine: `${type} ${blob}`, type, file });
  }
  cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, lines });
  return lines;
}

/** How known_hosts names a host on a port: `host` on 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port?: string): string {
  return port && port !== '22' ? `[${host}]:${port}` : host;
}

function matchesHashed(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // |1|salt|hash
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  return createHmac('sha1', salt).update(name).digest('base64') === parts[3];
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|')) return matchesHashed(pattern, name);
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i').test(name);
}

/** The key lines known_hosts has for `name` (as `knownHostsName` spells it), duplicates removed. */
export function knownKeysFor(name: string, files: readonly string[]): KnownHostLine[] {
  const found = new Map<string, KnownHostLine>();
  for (const file of files) {
    for (const line of readKnownHosts(file)) {
      const negated = line.hosts.some((p) => p.startsWith('!') && patternMatches(p.slice(1), name));
      if (negated || !line.hosts.some((p) => !p.startsWith('!') && patternMatches(p, name))) continue;
      if (!found.has(line.keyLine)) found.set(line.keyLine, line);
    }
  }
  return [...found.values()];
}

/** Host names in known_hosts, for completion: plain names only (not hashed, not patterns). */
export function knownHostNames(files: readonly string[]): { host: string; port?: string; file: string }[] {
  const names = new Map<string, { host: string; port?: string; file: string }>();
  for (const file of files) {
    for (const line of readKnownHosts(file)) {
      for (const pattern of line.hosts) {
        if (pattern.startsWith('|') || /[*?!]/.test(pattern)) continue;
        const bracketed = /^\[(.+)\]:(\d+)$/.exec(pattern);
        const entry = bracketed ? { host: bracketed[1]!, port: bracketed[2]!, file } : { host: pattern, file };
        const key = bracketed ? pattern : pattern.toLowerCase();
        if (!names.has(key)) names.set(key, entry);
      }
    }
  }
  return [...names.values()];
}
