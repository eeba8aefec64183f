// Resolving a host from ssh_config files without an ssh binary: the subset of ssh's own rules
// that decides where and as whom a builder is reached, and how its host key is checked. The
// output has the same shape as `ssh -G` (keyword → values, keywords in lower case), so both
// paths end in the same reader (sshConfig.ts). The unit tests hold it against real `ssh -G`.
//
// Rules kept from OpenSSH: the command line first, then the files, and the first value of a
// keyword wins (IdentityFile accumulates); `Host` patterns with `*`, `?` and `!negation`, matched
// case-sensitively against the host as given; `Include` with globs (relative to ~/.ssh for the
// user's file, /etc/ssh for the system's); `Match` blocks are not evaluated (a note says so)
// except `Match all`; `HostName` expands `%h` and `%%` and is lower-cased.
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { SshCommandLine } from './nixSshOpts';

/** Keyword → values, as `ssh -G` prints them (one entry per line; identityfile may repeat). */
export type SshSettings = Map<string, string[]>;

export interface FallbackInput {
  /** The host as ssh gets it (without `user@`). */
  host: string;
  /** The user from `user@host`, if any. */
  user: string | undefined;
  commandLine: SshCommandLine;
  home: string;
  localUser: string;
  /** Where the system-wide file is (default /etc/ssh/ssh_config). */
  systemConfig?: string;
  /** Reads a file; undefined when it does not exist. */
  readFile?: (file: string) => string | undefined;
  /** Lists a directory's entries (for Include globs). */
  listDir?: (dir: string) => string[];
}

export interface FallbackResult {
  settings: SshSettings;
  notes: string[];
  /** A `Match` block was skipped: settings it would give may be missing. */
  skippedMatch: boolean;
}

const defaultIdentities = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map(
  (name) => `~/.ssh/${name}`,
);

/** The keywords the resolution reads; others in the files are skipped. */
const keywords = new Set([
  'hostname',
  'port',
  'user',
  'identityfile',
  'identitiesonly',
  'proxyjump',
  'proxycommand',
  'connecttimeout',
  'userknownhostsfile',
  'globalknownhostsfile',
  'hostkeyalias',
  'stricthostkeychecking',
  'batchmode',
  'hostkeyalgorithms',
]);

/** A config file's text; undefined when it cannot be read (ssh skips such a file too). */
export const readConfigFile = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

const listOrEmpty = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** ssh's `match_pattern`: `*` any run, `?` one character, everything else literal. */
export function matchPattern(text: string, pattern: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return regex.test(text);
}

/** A `Host` line's patterns: any positive match and no negated match. */
export function hostPatternsMatch(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (matchPattern(host, pattern.slice(1))) return false;
    } else if (matchPattern(host, pattern)) {
      matched = true;
    }
  }
  return matched;
}

/** Splits a config line's arguments: whitespace-separated, `"…"` groups, `=` after the keyword. */
export function splitConfigLine(line: string): { keyword: string; args: string[] } | undefined {
  const trimmed = line.replace(/^[\s]+/, '');
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const match = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(trimmed);
  if (!match) return undefined;
  const keyword = match[1]!.toLowerCase();
  const rest = match[2]!;
  const args: string[] = [];
  let current = '';
  let inQuotes = false;
  let hasToken = false;
  for (const char of rest) {
    if (char === '"') {
      inQuotes = !inQuotes;
      hasToken = true;
    } else if (!inQuotes && /\s/.test(char)) {
      if (hasToken) args.push(current);
      current = '';
      hasToken = false;
    } else if (!inQuotes && char === '#' && !hasToken) {
      break;
    } else {
      current += char;
      hasToken = true;
    }
  }
  if (hasToken) args.push(current);
  return { keyword, args };
}

/** The lines of a config file that say something, split; blank and comment lines are left out. */
export function configLines(text: string): Array<{ keyword: string; args: string[] }> {
  return text.split(/\r?\n/).flatMap((line) => splitConfigLine(line) ?? []);
}

/** The user's config file as ssh picks it: `-F FILE` (`none`: no file at all), else ~/.ssh/config. */
export function userConfigFile(configFile: string | undefined, home: string): string | undefined {
  if (configFile === undefined) return path.join(home, '.ssh', 'config');
  if (configFile === 'none') return undefined;
  return configFile.startsWith('~/') ? path.join(home, configFile.slice(2)) : configFile;
}

/**
 * The files one `Include` argument names: `~/` is the home, a relative path is relative to
 * `relativeTo` (~/.ssh for the user's config, /etc/ssh for the system's), globs in sorted order.
 */
export function includedFiles(
  arg: string,
  relativeTo: string,
  home: string,
  listDir: (dir: string) => string[] = listOrEmpty,
): string[] {
  const expanded = arg.startsWith('~/') ? path.join(home, arg.slice(2)) : arg;
  return expandGlob(path.isAbsolute(expanded) ? expanded : path.join(relativeTo, expanded), listDir);
}

/** A glob with `*` and `?` in its last parts, expanded like ssh's Include does (sorted). */
function expandGlob(pattern: string, listDir: (dir: string) => string[]): string[] {
  const parts = pattern.split('/');
  let candidates = [pattern.startsWith('/') ? '/' : ''];
  for (const part of parts) {
    if (part === '') continue;
    const next: string[] = [];
    for (const base of candidates) {
      if (/[*?]/.test(part)) {
        for (const entry of listDir(base || '.').sort()) {
          if (entry.startsWith('.') && !part.startsWith('.')) continue;
          if (matchPattern(entry, part)) next.push(path.join(base, entry));
        }
      } else {
        next.push(path.join(base, part));
      }
    }
    candidates = next;
  }
  return candidates;
}

class Reader {
  readonly settings: SshSettings = new Map();
  readonly notes: string[] = [];
  skippedMatch = false;

  constructor(
    private readonly host: string,
    private readonly input: FallbackInput,
  ) {}

  set(name: string, value: string): void {
    if (name === 'identityfile') {
      const list = this.settings.get(name) ?? [];
      list.push(value);
      this.settings.set(name, list);
    } else if (!this.settings.has(name)) {
      this.settings.set(name, [value]);
    }
  }

  readFile(file: string, relativeTo: string, depth: number): void {
    if (depth > 16) {
      this.notes.push(`Include nesting too deep at ${file}; the rest is skipped.`);
      return;
    }
    const text = (this.input.readFile ?? readConfigFile)(file);
    if (text === undefined) return;
    let active = true;
    for (const { keyword, args } of configLines(text)) {
      if (keyword === 'host') {
        active = hostPatternsMatch(this.host, args);
      } else if (keyword === 'match') {
        if (args.length === 1 && args[0]!.toLowerCase() === 'all') {
          active = true;
        } else {
          active = false;
          this.skippedMatch = true;
          this.notes.push(
            `'Match ${args.join(' ')}' in ${file} is not evaluated without an ssh binary; its settings are skipped.`,
          );
        }
      } else if (keyword === 'include') {
        if (!active) continue;
        for (const arg of args) {
          for (const included of includedFiles(arg, relativeTo, this.input.home, this.input.listDir))
            this.readFile(included, relativeTo, depth + 1);
        }
      } else if (active && keywords.has(keyword) && args.length > 0) {
        if (
          keyword === 'identityfile' ||
          keyword === 'proxyjump' ||
          keyword === 'proxycommand' ||
          keyword === 'hostname' ||
          keyword === 'user' ||
          keyword === 'hostkeyalias'
        ) {
          this.set(keyword, keyword === 'proxycommand' ? args.join(' ') : args[0]!);
        } else {
          this.set(keyword, args.join(' '));
        }
      }
    }
  }
}

/** Percent tokens ssh expands in HostName. */
function expandHostName(value: string, host: string): string {
  return value.replace(/%(.)/g, (whole, token: string) => (token === 'h' ? host : token === '%' ? '%' : whole));
}

const booleanWord = (value: string | undefined, fallback: string): string => {
  const lower = (value ?? fallback).toLowerCase();
  if (lower === 'true') return 'yes';
  if (lower === 'false') return 'no';
  return lower;
};

/**
 * What the command line and the config files say for `host`, before any default: the first value
 * of each keyword (IdentityFile accumulates), as ssh reads them.
 */
export function readConfigSettings(input: FallbackInput): FallbackResult {
  const reader = new Reader(input.host, input);
  for (const setting of input.commandLine.settings) reader.set(setting.name, setting.value);
  if (input.user !== undefined) reader.set('user', input.user);
  const userFile = userConfigFile(input.commandLine.configFile, input.home);
  if (userFile !== undefined) reader.readFile(userFile, path.join(input.home, '.ssh'), 0);
  if (input.commandLine.configFile === undefined) {
    const system = input.systemConfig ?? '/etc/ssh/ssh_config';
    reader.readFile(system, path.dirname(system), 0);
  }
  return { settings: reader.settings, notes: reader.notes, skippedMatch: reader.skippedMatch };
}

/** Resolves `host` from the command line and the config files, in `ssh -G` form. */
export function resolveFromConfigFiles(input: FallbackInput): FallbackResult {
  const read = readConfigSettings(input);
  const settings = read.settings;
  const first = (name: string) => settings.get(name)?.[0];
  const out: SshSettings = new Map();
  out.set('host', [input.host]);
  out.set('hostname', [expandHostName(first('hostname') ?? input.host, input.host).toLowerCase()]);
  out.set('port', [first('port') ?? '22']);
  out.set('user', [first('user') ?? input.localUser]);
  out.set('batchmode', [booleanWord(first('batchmode'), 'no')]);
  out.set('identitiesonly', [booleanWord(first('identitiesonly'), 'no')]);
  out.set('stricthostkeychecking', [booleanWord(first('stricthostkeychecking'), 'ask')]);
  const alias = first('hostkeyalias');
  if (alias !== undefined) out.set('hostkeyalias', [alias.toLowerCase()]);
  const identities = settings.get('identityfile') ?? [];
  out.set('identityfile', identities.length > 0 ? identities : defaultIdentities);
  out.set('userknownhostsfile', [first('userknownhostsfile') ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2']);
  out.set('globalknownhostsfile', [
    first('globalknownhostsfile') ?? '/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2',
  ]);
  out.set('connecttimeout', [first('connecttimeout') ?? 'none']);
  const jump = first('proxyjump');
  if (jump !== undefined && jump.toLowerCase() !== 'none') out.set('proxyjump', [jump]);
  const proxyCommand = first('proxycommand');
  if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none') out.set('proxycommand', [proxyCommand]);
  const algorithms = first('hostkeyalgorithms');
  if (algorithms !== undefined) out.set('hostkeyalgorithms', [algorithms]);
  return { settings: out, notes: read.notes, skippedMatch: read.skippedMatch };
}
