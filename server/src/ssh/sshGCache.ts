// `ssh -G` once per destination: its answer depends only on its arguments, the environment it
// ran in and the config files it read, so the same question is answered from memory (per
// process: the CLI, the language server) until one of those files changes. The files stamped
// (by their contents: a file rewritten within the same clock tick keeps its time): the -F file
// or ~/.ssh/config, /etc/ssh/ssh_config, and each file an `Include` in them names (a pattern:
// every file of its directory). Never cached: a failure (said again, as ssh says it), and an answer from a config
// with `Match exec`, which runs a command whose answer may differ each time.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** ssh's answer, kept: the text it printed on stdout. */
interface Kept {
  stamp: string;
  stdout: string;
}

const kept = new Map<string, Kept>();
/** Enough for every builder of a big machines file; the oldest is dropped first. */
const maxKept = 2000;

/** A config file's contents, or undefined when it cannot be read (a FIFO is never opened). */
function contents(path: string): string | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > 1024 * 1024) return `${path}: ${stat.isFile() ? stat.size : 'not a file'}`;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const matchExec = /^\s*match\b.*\bexec\b/im;

function fileStamp(path: string, text: string | undefined): string {
  if (text !== undefined && matchExec.test(text)) throw new RunsACommand();
  return `${path}\0${text === undefined ? 'absent' : createHash('sha256').update(text).digest('hex')}`;
}

/** The Include targets of a config file, as paths or patterns (relative ones under `base`). */
function includes(text: string, base: string, home: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*include\s*[= ]\s*(.+)$/i.exec(line);
    if (!match) continue;
    for (const word of match[1]!.trim().split(/\s+/)) {
      const expanded = word.startsWith('~/') ? join(home, word.slice(2)) : word;
      found.push(isAbsolute(expanded) ? expanded : join(base, expanded));
    }
  }
  return found;
}

/**
 * What the answer depends on in the files, or undefined when it must not be kept (`Match
 * exec`). Reads at most the two top files and what they include, one level deep.
 */
export function configStamp(configFile: string | undefined, home: string): string | undefined {
  try {
    return stampOf(configFile, home);
  } catch (error) {
    if (error instanceof RunsACommand) return undefined;
    throw error;
  }
}

/** A config that runs a command to decide (`Match exec`). */
class RunsACommand extends Error {}

function stampOf(configFile: string | undefined, home: string): string {
  const tops = [configFile ?? join(home, '.ssh/config'), '/etc/ssh/ssh_config'];
  const parts: string[] = [];
  for (const [index, top] of tops.entries()) {
    const text = contents(top);
    parts.push(fileStamp(top, text));
    if (text === undefined) continue;
    // As ssh: a relative Include is under ~/.ssh in a user's config (-F or not), /etc/ssh in the system's.
    const base = index === 0 ? join(home, '.ssh') : '/etc/ssh';
    for (const target of includes(text, base, home)) {
      if (/[*?[]/.test(target)) {
        const dir = dirname(target);
        try {
          for (const name of readdirSync(dir).sort()) parts.push(fileStamp(join(dir, name), contents(join(dir, name))));
        } catch {
          parts.push(fileStamp(dir, undefined));
        }
      } else parts.push(fileStamp(target, contents(target)));
    }
  }
  return parts.join('\n');
}

/** The kept answer for this question, if the files are as they were. */
export function keptAnswer(question: string, stamp: string | undefined): string | undefined {
  if (stamp === undefined) return undefined;
  const entry = kept.get(question);
  return entry !== undefined && entry.stamp === stamp ? entry.stdout : undefined;
}

/** Keeps a successful answer. */
export function keepAnswer(question: string, stamp: string | undefined, stdout: string): void {
  if (stamp === undefined) return;
  kept.delete(question);
  kept.set(question, { stamp, stdout });
  if (kept.size > maxKept) kept.delete(kept.keys().next().value!);
}
