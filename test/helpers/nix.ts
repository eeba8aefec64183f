// Real Nix as the oracle for how a builders text (or a nix.conf) is read. We build a
// derivation whose `system` no machine has, with `-j0` (no local builds): the build hook then
// either fails with the parse error, or prints `N available machines:` and one
// `(systems, maxjobs, supportedFeatures, mandatoryFeatures)` row per machine it read. Nothing
// is ever built and no machine is contacted. ~50 ms a case. See docs/testing.md.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Machine } from '../../server/src/model/machines';

export interface InstalledNix {
  /** A chroot of the version lab (scripts/nix-versions.sh) this Nix runs in; the machine's own when absent. */
  root?: string;
  /** `nix-build` on the PATH. */
  nixBuild: string;
  /** What `nix --version` printed. */
  versionText: string;
  /** Nix's `system` setting (builtins.currentSystem): the systems of a machine without column 2. */
  system: string;
}

/** The installed Nix, or undefined when there is none. */
export function findNix(root?: string): InstalledNix | undefined {
  const version = spawnSync(...nixCommand('nix-build', ['--version'], root), { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return undefined;
  const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nix-oracle-'));
  const system = spawnSync(...nixCommand('nix-instantiate', ['--eval', '--expr', 'builtins.currentSystem'], root), {
    encoding: 'utf8',
    env: isolatedEnv(confDir),
  });
  fs.rmSync(confDir, { recursive: true, force: true });
  if (system.status !== 0) return undefined;
  const found: InstalledNix = {
    nixBuild: 'nix-build',
    versionText: version.stdout.trim(),
    system: JSON.parse(system.stdout.trim()) as string,
  };
  if (root !== undefined) found.root = root;
  return found;
}

/**
 * The other Nix versions of the lab: `NIXRB_NIX_VERSIONS` lists chroots (colon-separated) that
 * scripts/test.mjs made with scripts/nix-versions.sh and bound /proc and /tmp into.
 */
export function labNixRoots(): string[] {
  return (process.env.NIXRB_NIX_VERSIONS ?? '').split(':').filter((root) => root !== '');
}

/**
 * A Nix program of the Nix under test: the machine's own, or the one inside a chroot of the
 * version lab, which sees the same /tmp (so the case directories are the same paths), started
 * in `cwd` there (chroot itself changes to /).
 */
export function nixCommand(
  program: string,
  args: string[],
  root: string | undefined,
  cwd?: string,
): [string, string[]] {
  if (root === undefined) return [program, args];
  return ['chroot', [root, 'sh', '-c', 'cd "$0" && exec "$@"', cwd ?? '/', program, ...args]];
}

/** What Nix made of a builders text. */
export type OracleAnswer = { accepted: true; rows: string[] } | { accepted: false; error: string };

/** The environment Nix runs in: no user or system config, no daemon, no substituters. */
export function isolatedEnv(confDir: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NIX_CONFIG;
  delete env.NIX_REMOTE;
  env.NIX_USER_CONF_FILES = '/nonexistent/nix-oracle/nix.conf';
  if (confDir !== undefined) env.NIX_CONF_DIR = confDir;
  return env;
}

/** A derivation no machine builds for; `slot` keeps concurrent runs off each other's locks. */
function expression(slot: number): string {
  return `derivation { name = "nix-oracle-${slot}"; system = "nix-oracle-unmatched-system"; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; }`;
}

/**
 * Asks Nix how it reads `builders`. `dir` is an empty directory of the caller's: Nix's config
 * dir (a nix.conf with substituters off) and working directory (relative `@file`s).
 */
export async function askNixAboutBuilders(
  builders: string,
  dir: string,
  slot: number,
  nix?: InstalledNix,
): Promise<OracleAnswer> {
  fs.writeFileSync(path.join(dir, 'nix.conf'), 'substituters =\n');
  const output = await run(
    ['--no-out-link', '-j0', '--builders', builders, '-E', expression(slot)],
    dir,
    dir,
    nix?.root,
  );
  return readAnswer(output);
}

/** Asks Nix how it reads a nix.conf (written to `dir/nix.conf` after a `substituters =` line). */
export async function askNixAboutConf(
  conf: string,
  dir: string,
  slot: number,
  nix?: InstalledNix,
): Promise<OracleAnswer> {
  fs.writeFileSync(path.join(dir, 'nix.conf'), `substituters =\n${conf}`);
  const output = await run(['--no-out-link', '-j0', '-E', expression(slot)], dir, dir, nix?.root);
  return readAnswer(output);
}

function run(
  args: string[],
  confDir: string,
  cwd: string,
  root?: string,
): Promise<{ text: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...nixCommand('nix-build', args, root, cwd), {
      cwd,
      env: isolatedEnv(confDir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), code });
    });
  });
}

/**
 * Newer Nix's row `([a, b], 1, [f], [m])` as 2.8 prints it, `(a, b, 1, f, m)`. Only the lists'
 * own brackets go: a system may hold brackets itself (`h://[::1]`), and since no item holds a
 * space, `], 1, [` and `], [` are found only between the fields.
 */
function unbracketRow(row: string): string {
  const fields = /^\(\[(.*?)\], (\d+), \[(.*?)\], \[(.*)\]\)$/.exec(row);
  return fields ? `(${fields[1]}, ${fields[2]}, ${fields[3]}, ${fields[4]})` : row;
}

function readAnswer(output: { text: string; code: number | null }): OracleAnswer {
  const lines = output.text.split('\n');
  const header = lines.findIndex((l) => /^\d+ available machines:$/.test(l));
  if (header >= 0) {
    const count = Number(lines[header]!.split(' ')[0]);
    // After the header comes the `(systems, maxjobs, …)` legend, then one row per machine.
    // Nix 2.8 prints `(a, 1, f, g, m)`; newer Nix brackets each list: `([a], 1, [f, g], [m])`.
    return {
      accepted: true,
      rows: lines.slice(header + 2, header + 2 + count).map(unbracketRow),
    };
  }
  // No machines at all: 2.8 "unable to start any build; either increase '--max-jobs' …", 2.21
  // "Unable to start any build; …", 2.30+ "Cannot build '…'. Reason: local builds are disabled".
  if (
    lines.some(
      (l) =>
        l.includes("either increase '--max-jobs' or enable remote builds") ||
        /Reason: local builds are disabled/.test(l),
    )
  ) {
    return { accepted: true, rows: [] };
  }
  const at = lines.findIndex((l) => l.startsWith('error: ') || l === 'error:');
  if (at >= 0 && lines[at] !== 'error:') return { accepted: false, error: lines[at]!.slice('error: '.length) };
  if (at >= 0) {
    // Newer Nix: `error:` alone, then the indented trace (`… while …`) and the error itself.
    const block: string[] = [];
    for (const line of lines.slice(at + 1)) {
      if (line !== '' && !line.startsWith(' ')) break;
      if (line.trim() !== '') block.push(line);
    }
    return { accepted: false, error: block.join('\n') };
  }
  return { accepted: false, error: `nix-build exited with ${output.code} without an error line:\n${output.text}` };
}

/**
 * A message as Nix prints it on a log line (`filterANSIEscapes`, after `error: `): a tab
 * becomes spaces up to the next multiple of 8 (counting characters from the start of the line),
 * and `\r` is dropped. Compare our `nixMessage` through this with what Nix printed.
 */
export function asNixPrintsIt(message: string, prefix = 'error: '): string {
  let line = '';
  let width = 0;
  for (const c of prefix + message) {
    if (c === '\r') continue;
    if (c === '\n') {
      // Nix filters the whole message at once: a newline has no width, so tab stops run on
      // from the line before (seen on 2.26 and 2.34, whose traces are on lines of their own).
      line += c;
      continue;
    }
    if (c === '\t') {
      do {
        line += ' ';
        width++;
      } while (width % 8 !== 0);
      continue;
    }
    line += c;
    width++;
  }
  return line.slice(prefix.length);
}

/**
 * The error Nix prints for a problem, as the oracle reads it (`readAnswer`): one line after
 * `error: `, or, for an error with a trace, the indented lines after a lone `error:`.
 */
export function asNixPrintsError(problem: { nixMessage?: string; nixTrace?: string[]; code: string }): string {
  const message = problem.nixMessage ?? `(no Nix message for ${problem.code})`;
  if (problem.nixTrace === undefined) return asNixPrintsIt(message);
  const layout = ['', ...problem.nixTrace.map((t) => `       … ${t}`), '', `       error: ${message}`].join('\n');
  return asNixPrintsIt(layout, 'error:')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .join('\n');
}

/** A machine as Nix's build hook prints it (build-remote.cc): systems in order, features as sets. */
export function machineRow(m: Machine): string {
  return `(${m.systems.join(', ')}, ${m.maxJobs}, ${m.supportedFeatures.join(', ')}, ${m.mandatoryFeatures.join(', ')})`;
}

const errnoText: Record<string, string> = {
  ENOTDIR: 'Not a directory',
  EACCES: 'Permission denied',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
};

/**
 * Reads a file the way Nix's `readFile` fails: undefined when it does not exist, otherwise an
 * error with Nix 2.8's words (a directory opens but cannot be read). Relative paths are
 * relative to `cwd`, as they are for the build hook started there.
 */
export function readFileLikeNix(cwd: string): (file: string) => string | undefined {
  return (file) => {
    try {
      return fs.readFileSync(path.resolve(cwd, file), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOENT') return undefined;
      if (code === 'EISDIR') throw new Error('reading from file: Is a directory');
      throw new Error(`opening file '${file}': ${errnoText[code] ?? code}`);
    }
  };
}

/** Everything one oracle run printed, with the oracle's answer read from it. */
export interface PrintedAnswer {
  answer: OracleAnswer;
  /**
   * The text after each `warning: ` Nix printed, each once, in order; left out are the errors
   * Nix retries and reports as `warning: error: …` (such as a SQLite database busy with other
   * Nix processes on this machine), which say nothing about the input.
   */
  warnings: string[];
  /** All of stdout and stderr. */
  output: string;
}

/**
 * Like `askNixAboutBuilders` / `askNixAboutConf`, keeping what Nix printed: its warnings (to
 * show a mistake passes without a word, or to compare a warning's wording). With `system` set
 * to Nix's own system, the machines are eligible and the build hook connects to them (so
 * connection-time refusals show up); no build runs (`-j0`, and the builder exits 1).
 */
export async function askNixPrinted(
  input: {
    builders?: string;
    conf?: string;
    system?: string;
    /** Pass `-j0` (the default); false leaves max-jobs to the nix.conf. */ forbidLocalBuilds?: boolean;
  },
  dir: string,
  slot: number,
  nix?: InstalledNix,
): Promise<PrintedAnswer> {
  fs.writeFileSync(path.join(dir, 'nix.conf'), `substituters =\n${input.conf ?? ''}`);
  const system = input.system ?? 'nix-oracle-unmatched-system';
  const name = `nix-oracle-printed-${process.pid}-${slot}-${Math.random().toString(36).slice(2, 8)}`;
  const expr = `derivation { name = "${name}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; }`;
  const builders = input.builders === undefined ? [] : ['--builders', input.builders];
  const jobs = input.forbidLocalBuilds === false ? [] : ['-j0'];
  const output = await run(['--no-out-link', ...jobs, ...builders, '-E', expr], dir, dir, nix?.root);
  const warnings = [
    ...new Set(
      output.text
        .split('\n')
        .filter((l) => l.startsWith('warning: ') && !l.startsWith('warning: error: '))
        .map((l) => l.slice('warning: '.length)),
    ),
  ];
  return { answer: readAnswer(output), warnings, output: output.text };
}
