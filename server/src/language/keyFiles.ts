// Files to offer in column 3 (the SSH identity file) and after `@`: the private keys in ~/.ssh
// (a file with a `.pub` twin, or one that starts with a private key header), and the entries of
// the directory a typed path points into (in column 3 only directories and private keys). Never
// reads more than a key's first bytes.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync, type Dirent } from 'node:fs';
import { dirname, join } from 'node:path';

export interface KeyFile {
  path: string;
  /** Why it counts as a private key. */
  reason: 'pub-twin' | 'header';
}

function startsLikePrivateKey(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(64);
    const read = readSync(fd, buffer, 0, 64, 0);
    return /^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(buffer.toString('latin1', 0, read));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A file ssh can take as a private key, by its name and first bytes: not a `.pub`, a regular
 * file (never opened otherwise: a FIFO would block), with a `.pub` twin or a private key header.
 */
export function isPrivateKeyFile(path: string): boolean {
  if (path.endsWith('.pub')) return false;
  try {
    if (!statSync(path).isFile()) return false;
  } catch {
    return false;
  }
  return existsSync(`${path}.pub`) || startsLikePrivateKey(path);
}

const notKeys = new Set([
  'config',
  'known_hosts',
  'known_hosts2',
  'authorized_keys',
  'authorized_keys2',
  'environment',
  'rc',
]);

/** The private keys directly in `dir` (usually ~/.ssh), sorted by name. */
export function privateKeysIn(dir: string): KeyFile[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const names = new Set(entries.map((e) => e.name));
  const keys: KeyFile[] = [];
  for (const entry of entries) {
    const name = entry.name;
    if (name.endsWith('.pub') || notKeys.has(name) || name.startsWith('known_hosts')) continue;
    const path = join(dir, name);
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        isFile = statSync(path).isFile();
      } catch {
        isFile = false;
      }
    }
    if (!isFile) continue;
    if (names.has(`${name}.pub`)) keys.push({ path, reason: 'pub-twin' });
    else if (startsLikePrivateKey(path)) keys.push({ path, reason: 'header' });
  }
  return keys.sort((a, b) => a.path.localeCompare(b.path));
}

/** How a key file is described in completion. */
export function keyDetail(key: KeyFile): string {
  return key.reason === 'pub-twin' ? 'private key (has a .pub)' : 'private key';
}

/** The private keys in each home's ~/.ssh, each once, in the homes' order. */
export function privateKeysInHomes(homes: readonly string[]): KeyFile[] {
  const seen = new Set<string>();
  return homes.flatMap((home) =>
    privateKeysIn(join(home, '.ssh')).filter((key) => !seen.has(key.path) && seen.add(key.path)),
  );
}

export interface PathEntry {
  /** The full path to insert. */
  path: string;
  isDirectory: boolean;
}

/**
 * The entries of the directory a typed absolute path is in (`/etc/nix/ma` lists `/etc/nix/`),
 * dot files only when the typed name starts with a dot. At most `limit` entries.
 */
export function pathEntries(typed: string, limit = 200): PathEntry[] {
  if (!typed.startsWith('/')) return [];
  const dir = typed.endsWith('/') ? typed : dirname(typed) === '/' ? '/' : `${dirname(typed)}/`;
  const namePrefix = typed.slice(dir.length);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const result: PathEntry[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') && !namePrefix.startsWith('.')) continue;
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDirectory = statSync(join(dir, entry.name)).isDirectory();
      } catch {
        continue;
      }
    }
    result.push({ path: `${dir}${entry.name}${isDirectory ? '/' : ''}`, isDirectory });
    if (result.length >= limit) break;
  }
  return result;
}
