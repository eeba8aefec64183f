// The user's ssh config read without running ssh: its `Host` aliases (for completion) and, when
// `ssh -G` cannot be used (no ssh binary, or an untrusted workspace, where `Match exec` must not
// run), the settings ssh would take for a host. Follows `Include` (with globs, relative to
// ~/.ssh) as ssh does; `Match` blocks are not evaluated (they may run commands).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';

interface ConfigLine {
  keyword: string;
  args: string[];
  file: string;
}

/** Files are re-read only when they change. */
const fileCache = new Map<string, { mtimeMs: number; size: number; lines: ConfigLine[] }>();

function readLines(file: string): ConfigLine[] | undefined {
  let stat;
  try {
    stat = statSync(file);
    if (!stat.isFile()) return undefined;
  } catch {
    return undefined;
  }
  const cached = fileCache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.lines;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines: ConfigLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // `Keyword value`, `Keyword=value` or `Keyword = value`; values may be "quoted".
    const match = /^([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(line);
    if (!match) continue;
    lines.push({ keyword: match[1]!.toLowerCase(), args: splitArgs(match[2]!), file });
  }
  fileCache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, lines });
  return lines;
}

function splitArgs(text: string): string[] {
  const args: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const arg = match[1] ?? match[2]!;
    if (arg.startsWith('#')) break; // a trailing comment
    args.push(arg);
  }
  return args;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Expands a path with `*` and `?` in any component (ssh's `Include` uses glob(3)). */
function expandGlob(path: string): string[] {
  if (!/[*?]/.test(path)) return [path];
  const parts = path.split('/');
  let found = [parts[0] === '' ? '/' : parts[0]!];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const dir of found) {
      if (!/[*?]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      const re = globToRegExp(part);
      for (const name of names.sort()) if (!name.startsWith('.') && re.test(name)) next.push(join(dir, name));
    }
    found = next;
  }
  return found;
}

/** The default user config, or the file of `nixBuilders.sshConfigFile` (like `ssh -F`). */
export function userSshConfig(configFile: string | undefined, home = homedir()): string {
  return configFile ? configFile : join(home, '.ssh', 'config');
}

function includePaths(arg: string, home: string): string[] {
  const expanded = arg.startsWith('~/') ? join(home, arg.slice(2)) : arg;
  return expandGlob(isAbsolute(expanded) ? expanded : join(home, '.ssh', expanded));
}

/** Marks where an included file starts (not a keyword ssh has: keywords are letters). */
const includeStart = '<include>';

/** Every line of the config in ssh's reading order, Includes expanded in place. */
function* walk(file: string, home: string, depth = 0): Generator<ConfigLine & { depth: number }> {
  if (depth > 16) return; // ssh's own limit
  for (const line of readLines(file) ?? []) {
    if (line.keyword === 'include') {
      for (const arg of line.args) {
        for (const path of includePaths(arg, home)) {
          yield { keyword: includeStart, args: [], file: path, depth: depth + 1 };
          yield* walk(path, home, depth + 1);
        }
      }
      continue;
    }
    yield { ...line, depth };
  }
}

export interface SshHostAlias {
  alias: string;
  /** The config file that names it. */
  file: string;
  /** Its `HostName`, when the same block sets one. */
  hostName?: string;
}

/** The `Host` names of the config and its Includes that are not patterns (no `*`, `?`, `!`). */
export function sshHostAliases(configFile: string | undefined, home = homedir()): SshHostAlias[] {
  const aliases = new Map<string, SshHostAlias>();
  let current: SshHostAlias[] = [];
  for (const line of walk(userSshConfig(configFile, home), home)) {
    if (line.keyword === 'host') {
      current = [];
      for (const name of line.args) {
        if (/[*?!]/.test(name) || aliases.has(name)) continue;
        const alias: SshHostAlias = { alias: name, file: line.file };
        aliases.set(name, alias);
        current.push(alias);
      }
    } else if (line.keyword === 'match') {
      current = [];
    } else if (line.keyword === 'hostname' && line.args[0] !== undefined) {
      for (const alias of current) alias.hostName ??= line.args[0];
    }
  }
  return [...aliases.values()];
}

function hostMatches(patterns: string[], host: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const re = globToRegExp(negated ? pattern.slice(1) : pattern);
    if (re.test(host)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** What ssh would use for a host, read from the config files (keys lower-case, as `ssh -G` prints them). */
export type SshOptions = Map<string, string[]>;

/**
 * ssh's reading of the config for `host` without running anything: the first value of each
 * keyword wins (IdentityFile accumulates), `Host` patterns with `*`, `?` and `!`, Includes in
 * place (inside a block that does not apply, they do not apply either). `Match` blocks are
 * skipped. The system-wide /etc/ssh/ssh_config is read after the user's file, as ssh does.
 */
export function sshOptionsFromConfig(host: string, configFile: string | undefined, home = homedir()): { options: SshOptions; skippedMatch: boolean } {
  const options: SshOptions = new Map();
  let skippedMatch = false;
  const files = configFile ? [configFile] : [userSshConfig(undefined, home), '/etc/ssh/ssh_config'];
  for (const file of files) {
    // One "active" flag per include depth: a Host line inside an included file changes it
    // there; back in the including file, the flag from before the Include holds again.
    const active: boolean[] = [true];
    for (const line of walk(file, home)) {
      if (line.keyword === includeStart) {
        active.length = line.depth; // a new file starts from the state of its Include line
        continue;
      }
      active.length = line.depth + 1;
      const isActive = active.every((a) => a !== false);
      if (line.keyword === 'host') {
        active[line.depth] = hostMatches(line.args, host);
        continue;
      }
      if (line.keyword === 'match') {
        active[line.depth] = false;
        skippedMatch = true;
        continue;
      }
      if (!isActive || line.args.length === 0) continue;
      const value = line.args.join(' ');
      if (line.keyword === 'identityfile') options.set('identityfile', [...(options.get('identityfile') ?? []), value]);
      else if (!options.has(line.keyword)) options.set(line.keyword, [value]);
    }
  }
  return { options, skippedMatch };
}

/** Fills in ssh's defaults and `%h`, as `ssh -G` would print them. */
export function withSshDefaults(options: SshOptions, host: string, user: string | undefined, port: string | undefined): SshOptions {
  const result = new Map(options);
  const hostName = (result.get('hostname')?.[0] ?? host).replace(/%h/g, host).replace(/%%/g, '%');
  result.set('hostname', [hostName]);
  if (user) result.set('user', [user]);
  else if (!result.has('user')) result.set('user', [userInfo().username]);
  if (port) result.set('port', [port]);
  else if (!result.has('port')) result.set('port', ['22']);
  if (!result.has('identityfile')) {
    result.set('identityfile', ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa']);
  }
  return result;
}
