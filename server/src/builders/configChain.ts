// Where Nix reads its settings, in the order it applies them (later wins): the system nix.conf,
// the user's files, then the NIX_CONFIG variable. As in Nix's `loadConfFile` (libstore/globals.cc).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileAsNixDoes, readTextOrUndefined } from '../context/readFile';
import type { NixTarget } from '../context/target';
import { parseNixConf, type ParsedNixConf } from '../model/nixConf';

export interface ConfSource {
  /** A file path, or `NIX_CONFIG` for the environment variable. */
  name: string;
  /** The file's path; undefined for NIX_CONFIG. */
  path: string | undefined;
  /** The variable's text, for NIX_CONFIG. */
  text?: string;
}

/** The system-wide nix.conf: `$NIX_CONF_DIR/nix.conf`, default /etc/nix/nix.conf. */
function systemConfFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.NIX_CONF_DIR || '/etc/nix', 'nix.conf');
}

/**
 * The user's nix.conf files in the order Nix applies them. Nix lists `$NIX_USER_CONF_FILES`,
 * else `$XDG_CONFIG_HOME` then each of `$XDG_CONFIG_DIRS` (default /etc/xdg) with
 * `/nix/nix.conf`, and applies that list from the end, so the first one wins.
 */
function userConfFiles(env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] {
  let files: string[];
  if (env.NIX_USER_CONF_FILES !== undefined) {
    files = env.NIX_USER_CONF_FILES.split(':').filter(Boolean);
  } else {
    const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
    const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter(Boolean);
    files = [configHome, ...configDirs].map((dir) => join(dir, 'nix/nix.conf'));
  }
  return files.reverse();
}

/** Every source of settings, in the order Nix applies them. */
export function confSources(env: NodeJS.ProcessEnv = process.env, home = homedir()): ConfSource[] {
  const sources: ConfSource[] = [systemConfFile(env), ...userConfFiles(env, home)].map((path) => ({
    name: path,
    path,
  }));
  if (env.NIX_CONFIG) sources.push({ name: 'NIX_CONFIG', path: undefined, text: env.NIX_CONFIG });
  return sources;
}

/** What `builders` is when no file sets it. */
export const defaultBuilders = '@/etc/nix/machines';

/** A source's text and its parse (includes read as Nix reads them); undefined when it has no text. */
export function readConfSource(
  source: ConfSource,
  target: NixTarget,
): { text: string; conf: ParsedNixConf } | undefined {
  const text = source.path === undefined ? source.text : readTextOrUndefined(source.path);
  if (text === undefined) return undefined;
  const conf = parseNixConf(text, target.rules, {
    readFile: readFileAsNixDoes,
    localSystem: target.localSystem,
    ...(source.path ? { path: source.path } : {}),
  });
  return { text, conf };
}
