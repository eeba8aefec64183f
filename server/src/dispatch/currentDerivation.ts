// The derivation of the file in the editor: a `.drv` store path as it is; a `.nix` file through
// `nix-instantiate` (with `-A attr` when it evaluates to a set of derivations); a flake output
// through `nix path-info --derivation`. Nix runs with argument lists only (paths never become
// Nix or shell code), and its evaluation errors come back as Nix prints them. `--arg NAME EXPR` /
// `--argstr NAME S` reach nix-instantiate as those same words, as nix-build passes them.
import { logCommand } from '../context/log';
import { remoteCommandLine } from '../ssh/remoteCommand';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseDerivation, type Derivation } from './derivation';

export type DerivationSource =
  | { ok: true; drvPath: string; derivation: Derivation }
  /** The file is a set of derivations: the user picks one (`-A`). */
  | { ok: false; needsAttribute: string[] }
  | { ok: false; error: string };

/** An argument of a .nix file's function, as nix-build's `--arg NAME EXPR` / `--argstr NAME S` give it. */
export interface AutoArg {
  kind: 'arg' | 'argstr';
  name: string;
  value: string;
}

const autoArgWords = (autoArgs: readonly AutoArg[]) =>
  autoArgs.flatMap(({ kind, name, value }) => [`--${kind}`, name, value]);

/** The words as the user typed them, for a message. */
const spelledArgs = (autoArgs: readonly AutoArg[]) => autoArgs.map(({ kind, name }) => `--${kind} ${name}`).join(', ');

const storeDrv = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+\.drv$/;

function nix(
  command: string,
  args: string[],
  cwd: string,
  signal: AbortSignal | undefined,
  timeoutMs = 120_000,
): Promise<{ ok: true; stdout: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    const started = Date.now();
    execFile(
      command,
      args,
      { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', ...(signal ? { signal } : {}) },
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        const exit = error ? (typeof code === 'number' ? code : null) : 0;
        logCommand('local', remoteCommandLine([command, ...args]), {
          code: exit,
          timedOut: error?.killed === true,
          ...(typeof code === 'string' ? { error: code } : {}),
          stderr,
          ms: Date.now() - started,
        });
        if (!error) return resolve({ ok: true, stdout });
        if (code === 'ENOENT')
          return resolve({ ok: false, error: `${command} was not found: install Nix to build from .nix files.` });
        // Nix's own words, minus the warnings it prints on every run.
        const text = stderr
          .split('\n')
          .filter((line) => !line.startsWith("warning: you did not specify '--add-root'"))
          .join('\n')
          .trim();
        resolve({ ok: false, error: text || error.message });
      },
    );
  });
}

/**
 * Names of the attributes of a `.nix` file's value that are derivations (empty: it is one). The
 * user's --arg/--argstr reach it through the ellipsis (Nix hands every automatic argument to a
 * function with `...`); the file's function gets those it declares, as nix-instantiate gives them.
 */
const attributesExpression = `{ nixBuildersFile, ... }@args:
  let v = import (/. + nixBuildersFile);
      given = builtins.removeAttrs args [ "nixBuildersFile" ];
      x = if builtins.isFunction v then v (builtins.intersectAttrs (builtins.functionArgs v) given) else v;
  in if builtins.isAttrs x && (x.type or null) == "derivation" then [ ]
     else builtins.filter (n: builtins.isAttrs x.\${n} && (x.\${n}.type or null) == "derivation") (builtins.attrNames x)`;

async function readDrv(drvPath: string): Promise<DerivationSource> {
  try {
    return { ok: true, drvPath, derivation: parseDerivation(await readFile(drvPath, 'utf8')) };
  } catch (error) {
    return { ok: false, error: `Cannot read ${drvPath}: ${(error as Error).message}` };
  }
}

/**
 * `file` is an absolute path; `attr` the attribute to build (from the quick pick or `-A`), or
 * for a flake the output (`packages.x86_64-linux.default`, default `default`).
 */
export async function derivationOf(
  file: string,
  attr?: string,
  autoArgs: readonly AutoArg[] = [],
  /** Stops the evaluation (the CLI's command ended before it needed it). */
  signal?: AbortSignal,
): Promise<DerivationSource> {
  if (autoArgs.length > 0 && (file.endsWith('.drv') || basename(file) === 'flake.nix')) {
    return {
      ok: false,
      error: `${spelledArgs(autoArgs)}: arguments are for a .nix file's function; ${basename(file)} takes none (a flake's outputs and a .drv are built as they are).`,
    };
  }
  if (file.endsWith('.drv')) {
    if (!storeDrv.test(file)) return { ok: false, error: `${file} is not a derivation in /nix/store.` };
    return readDrv(file);
  }
  const cwd = dirname(file);
  if (basename(file) === 'flake.nix') {
    const installable = `${cwd}#${attr ?? 'default'}`;
    const result = await nix(
      'nix',
      ['--extra-experimental-features', 'nix-command flakes', 'path-info', '--derivation', installable],
      cwd,
      signal,
    );
    if (!result.ok) return result;
    return readDrv(result.stdout.trim().split('\n').pop() ?? '');
  }
  if (attr === undefined) {
    // One evaluation where the file is one derivation, as nix-build pays: nix-instantiate prints
    // the .drv of each derivation the value holds, and exactly one is the one -A would pick too
    // (a set with one derivation attribute and others that are not). Anything else (several, none,
    // an error) goes the way below, which names the attributes or says Nix's error as before.
    const direct = await nix('nix-instantiate', [file, ...autoArgWords(autoArgs)], cwd, signal);
    const drvs = direct.ok ? direct.stdout.trim().split('\n').filter(Boolean) : [];
    if (drvs.length === 1 && storeDrv.test(drvs[0]!)) return readDrv(drvs[0]!);
    const names = await nix(
      'nix-instantiate',
      [
        '--eval',
        '--json',
        '--strict',
        ...autoArgWords(autoArgs),
        '--argstr',
        'nixBuildersFile',
        file,
        '-E',
        attributesExpression,
      ],
      cwd,
      signal,
    );
    if (!names.ok) return names;
    const list = JSON.parse(names.stdout) as string[];
    if (list.length > 1) return { ok: false, needsAttribute: list };
    if (list.length === 1) attr = list[0];
  }
  const result = await nix(
    'nix-instantiate',
    [file, ...(attr !== undefined ? ['-A', attr] : []), ...autoArgWords(autoArgs)],
    cwd,
    signal,
  );
  if (!result.ok) return result;
  const drvs = result.stdout.trim().split('\n').filter(Boolean);
  const drvPath = drvs[drvs.length - 1];
  if (!drvPath || !storeDrv.test(drvPath))
    return { ok: false, error: `nix-instantiate printed no derivation for ${file}${attr ? ` -A ${attr}` : ''}.` };
  return readDrv(drvPath);
}
