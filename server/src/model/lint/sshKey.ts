// Column 3, the SSH private key. Nix never opens it: it passes `-i PATH` to ssh, and with a
// multi-user install ssh runs as root under the nix-daemon, without a terminal. So a key that
// is missing, unreadable, not a private key, too open, or protected by a passphrase is found
// out only when a build fails with "Permission denied (publickey)".

import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { problem, type Problem, type ProblemCode } from '../problem';
import type { Column, Machine } from '../machines';
import { expandTilde, inspectIdentityFile, type IdentityFileState } from '../identityFile';
import type { LintContext } from './index';
import { majorMinor } from './place';
import { versionRuleTable } from '../nixVersion';

/**
 * Where what was read of key files is kept. The language server's (context/watchedFiles.ts)
 * keeps it until the file changes on disk, which makes `generation` change.
 */
export interface KeyFileMemo {
  /** Changes whenever something kept is forgotten: a result of an older generation may be stale. */
  readonly generation: number;
  /** `read()` the first time for `key`, what it gave since, until `path` (the file it reads) changes. */
  remember<T>(key: string, path: string, read: () => T): T;
}

/** Reads each key file once per lint run (many machines share one key), and its mode once, or once while `memo` keeps it. */
export interface KeyInspector {
  (rawPath: string): IdentityFileState;
  /** `tooOpenMode` of the key's path. */
  tooOpen(path: string): string | undefined;
  /** The memo's generation: the same answers while it stays; undefined without a memo (each run reads again). */
  generation: number | undefined;
  /** `say()` the first time in this run for `rawPath`, what it gave since (a function of the key alone). */
  wordsFor<T>(rawPath: string, say: () => T): T;
}

export function keyInspector(context: LintContext, memo?: KeyFileMemo): KeyInspector {
  const kept = memo ?? perRun();
  // Within one run (synchronous: no watcher event comes between), each path is asked of the memo
  // once: 10 000 machines often share a few keys, and the memo's own key is a string to build.
  const thisRun = new Map<string, IdentityFileState>();
  const inspect = (rawPath: string) => {
    let state = thisRun.get(rawPath);
    if (state === undefined) {
      state = kept.remember(`key ${context.keyHome} ${rawPath}`, expandTilde(rawPath, context.keyHome), () =>
        inspectIdentityFile(rawPath, context.keyHome),
      );
      thisRun.set(rawPath, state);
    }
    return state;
  };
  const tooOpen = (path: string) =>
    kept.remember(`mode ${String(context.daemon)} ${path}`, path, () => tooOpenMode(path, context));
  const said = new Map<string, unknown>();
  const wordsFor = <T>(rawPath: string, say: () => T): T => {
    if (!said.has(rawPath)) said.set(rawPath, say());
    return said.get(rawPath) as T;
  };
  return Object.assign(inspect, { tooOpen, generation: memo?.generation, wordsFor });
}

/** A memo for one lint run. */
function perRun(): KeyFileMemo {
  const seen = new Map<string, unknown>();
  return {
    generation: 0,
    remember<T>(key: string, _path: string, read: () => T): T {
      if (!seen.has(key)) seen.set(key, read());
      return seen.get(key) as T;
    },
  };
}

export function lintSshKey(machine: Machine, context: LintContext, inspect: KeyInspector): Problem[] {
  const column = machine.columns.sshKey;
  if (column === undefined || !column.isSet) return [];
  return lintSshKeyColumn(column, machine.storeUri, context, inspect);
}

/** `lintSshKey` of a set column 3, for the machine of store URI `storeUri` (what a plain line keeps: plainLine.ts). */
export function lintSshKeyColumn(
  column: Column,
  storeUri: string,
  context: LintContext,
  inspect: KeyInspector,
): Problem[] {
  const raw = column.text;
  if (context.rules.sshKeyMustBeAbsolute && !isAbsolute(raw)) {
    // Nix reads the key setting as an absolute path (no `~`), and fails when it connects.
    const nixMessage = `not an absolute path: "${raw}"`;
    const since = majorMinor(versionRuleTable.sshKeyMustBeAbsolute.since);
    const absolute = expandTilde(raw, context.keyHome);
    return [
      problem(
        'ssh-key-relative',
        column.span,
        `From Nix ${since} the SSH key must be an absolute path${raw.startsWith('~') ? " ('~' is not expanded)" : ''}: Nix skips this machine when it connects ("cannot build on '${storeUri}': ${nixMessage}"). Write the full path${isAbsolute(absolute) ? `: ${absolute}` : ', such as /root/.ssh/nix-builder'}.`,
        nixMessage,
        isAbsolute(absolute) ? { suggestion: absolute } : undefined,
      ),
    ];
  }
  // A relative path is relative to wherever ssh runs (the daemon's working directory): not ours to check.
  if (!isAbsolute(expandTilde(raw, context.keyHome))) return [];
  // What is said depends on the key alone: said once per run for all the machines that share it.
  const words = inspect.wordsFor(raw, () => keyWords(raw, context, inspect));
  return words === undefined ? [] : [problem(words.code, column.span, words.message)];
}

/** What is wrong with the (absolute) key `raw` for ssh, in words; undefined when nothing is. */
function keyWords(
  raw: string,
  context: LintContext,
  inspect: KeyInspector,
): { code: ProblemCode; message: string } | undefined {
  const state = inspect(raw);
  const runner = context.daemon ? 'the nix-daemon runs ssh as root' : 'Nix runs ssh as you';
  const reader = context.daemon ? 'root' : 'you';
  const path = state.path;
  const named =
    path === raw
      ? `'${raw}'`
      : `'${raw}' (${path}${context.daemon && raw.startsWith('~') ? ": ~ is root's home, because the nix-daemon runs ssh as root" : ''})`;
  const fail = '"Permission denied (publickey)"';

  switch (state.kind) {
    case 'missing':
      return {
        code: 'ssh-key-missing',
        message: `The SSH key ${named} does not exist: ssh says "Identity file … not accessible" and tries its default keys instead, which the builder usually refuses (${fail}). Fix the path, or create a key without a passphrase for builds: ssh-keygen -t ed25519 -N '' -f ${path}`,
      };
    case 'unreadable':
      // Under the daemon, ssh runs as root: what this process cannot read, root usually can.
      if (context.daemon && state.reason === 'permission denied' && process.getuid?.() !== 0) return undefined;
      return {
        code: 'ssh-key-unreadable',
        message: `The SSH key ${named} cannot be read (${state.reason}), and ${runner}: ssh skips it and the builder refuses the login (${fail}). Point column 3 at a private key file ${reader} can read.`,
      };
    case 'not-a-private-key':
      return {
        code: 'ssh-key-not-private',
        message: `${named} is not an SSH private key (${state.reason}): ssh cannot log in with it (${fail}). Column 3 takes the private key file, such as ${context.daemon ? '/root' : '~'}/.ssh/id_ed25519 (not the .pub).`,
      };
    case 'encrypted':
    case 'ok': {
      const tooOpen = inspect.tooOpen(path);
      if (tooOpen !== undefined) {
        return {
          code: 'ssh-key-permissions',
          message: `The SSH key ${named} can be read by other users (mode ${tooOpen}), and ${runner}, who owns it: ssh refuses to use it ("Permissions ${tooOpen} for '${path}' are too open. … This private key will be ignored."), so the builder refuses the login. Run chmod 600 ${path}`,
        };
      }
      if (state.kind === 'ok') return undefined;
      const advice = context.daemon
        ? 'the nix-daemon runs ssh as root without a terminal, so nothing can type the passphrase, and your ssh-agent does not help (the daemon does not use it)'
        : 'Nix runs ssh in the background with no way to type the passphrase (only an ssh-agent already holding the key helps)';
      return {
        code: 'ssh-key-encrypted',
        message: `The SSH key ${named} has a passphrase: ${advice}, so the builder refuses the login (${fail}). Use a key without a passphrase, dedicated to builds: ssh-keygen -t ed25519 -N '' -f ${context.daemon ? '/root' : '~'}/.ssh/nix-builder (and add its .pub to the builder's authorized_keys).`,
      };
    }
  }
}

/**
 * ssh's check (sshkey_perm_ok): a key owned by the user ssh runs as must not be readable by
 * group or others, or ssh ignores it. Returns the mode (`0644`) when ssh would refuse.
 */
function tooOpenMode(path: string, context: LintContext): string | undefined {
  const sshUid = context.daemon ? 0 : process.getuid?.();
  if (sshUid === undefined) return undefined;
  try {
    const stat = statSync(path);
    if (stat.uid !== sshUid || (stat.mode & 0o077) === 0) return undefined;
    return `0${(stat.mode & 0o777).toString(8)}`;
  } catch {
    return undefined;
  }
}
