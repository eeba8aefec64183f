// One document read as Nix reads it, with everything the language features need: the machines
// (for symbols, hovers, completion), and every problem (Nix's errors and the silent mistakes).
// Cheap enough for every keystroke: a per-line parse plus a few file checks.
import { lintBuilders, lintBuildersByLine, lintNixConf, type LintContext } from '../model/lint';
import { placeInConfOrigin } from '../model/lint/place';
import { parseBuilders, type Machine, type ParsedBuilders } from '../model/machines';
import { LineMemo } from '../model/lineMemo';
import { parseNixConf, type ParsedNixConf } from '../model/nixConf';
import type { Problem } from '../model/problem';
import { placedProblems, type LineProblems } from '../model/problemsByLine';
import { readFileAsNixDoes } from '../context/readFile';
import type { NixTarget } from '../context/target';
import type { WatchedFiles } from '../context/watchedFiles';

export type DocumentKind = 'nix-machines' | 'nix-conf';

export interface Analysis {
  kind: DocumentKind;
  target: NixTarget;
  /** Every machine Nix reads from the document, includes and all, in Nix's order. */
  machines: Machine[];
  problems: Problem[];
  /** For a machines file read line by line (a memo): `problems` as the lines keep them, for the publish. */
  problemsByLine?: readonly LineProblems[];
  /** For a machines file: its parse. For nix.conf: the parse of the `builders` Nix uses. */
  builders: ParsedBuilders | undefined;
  conf: ParsedNixConf | undefined;
}

export function analyze(text: string, kind: DocumentKind, path: string | undefined, target: NixTarget): Analysis {
  return lint(parse(text, kind, path, target));
}

/**
 * `analyze` for the language server: the event loop runs between the parse and the lint (each
 * linear, together up to a second for 100 000 lines), so requests are answered in between,
 * and `between` may throw to stop an analysis a newer version has made useless. `memo` is the
 * document's: given, only the lines an edit changed are read again (a machines file only).
 * `files` is the server's: included files and SSH keys are read once, until they change on disk.
 */
export async function analyzeInSteps(
  text: string,
  kind: DocumentKind,
  path: string | undefined,
  target: NixTarget,
  between: () => Promise<void>,
  memo?: LineMemo,
  files?: WatchedFiles,
): Promise<Analysis> {
  const parsed = parse(text, kind, path, target, memo, files);
  await between();
  return lint(parsed, memo, files);
}

/** The parse: Nix's own errors. */
type Parsed =
  | { kind: 'nix-conf'; conf: ParsedNixConf; target: NixTarget }
  | { kind: 'nix-machines'; builders: ParsedBuilders; target: NixTarget };

function parse(
  text: string,
  kind: DocumentKind,
  path: string | undefined,
  target: NixTarget,
  memo?: LineMemo,
  files?: WatchedFiles,
): Parsed {
  const readFile = files === undefined ? readFileAsNixDoes : (file: string) => files.readFile(file);
  const options = { readFile, localSystem: target.localSystem, ...(path ? { path } : {}) };
  if (kind === 'nix-conf') return { kind, conf: parseNixConf(text, target.rules, options), target };
  if (memo === undefined) return { kind, builders: parseBuilders(text, target.rules, options), target };
  memo.begin(memoKey(target));
  return { kind, builders: parseBuilders(text, target.rules, { ...options, lines: memo }), target };
}

/** Everything a line's reading depends on besides its text. */
function memoKey(target: NixTarget): string {
  return JSON.stringify([target.version, target.rules, target.localSystem, target.keyHome, target.daemon]);
}

/** A memo for `analyzeInSteps`, one per document. */
export function lineMemo(): LineMemo {
  return new LineMemo();
}

function lint(parsed: Parsed, memo?: LineMemo, files?: WatchedFiles): Analysis {
  const { target } = parsed;
  const context: LintContext = {
    version: target.version,
    rules: target.rules,
    keyHome: target.keyHome,
    daemon: target.daemon,
    ...(files === undefined ? {} : { keyFiles: files }),
  };
  if (parsed.kind === 'nix-conf') {
    const conf = parsed.conf;
    const builders = conf.builders?.builders;
    return {
      kind: parsed.kind,
      target,
      machines: builders?.machines ?? [],
      // Only the `builders` Nix ends up using is parsed by Nix: its errors are Nix's errors. From
      // an included nix.conf they are shown on the include that leads there (found by the fuzz).
      problems: [
        ...conf.problems,
        ...(builders?.problems ?? []).map((p) => placeInConfOrigin(p, conf.builders!)),
        ...lintNixConf(conf, context),
      ],
      builders,
      conf,
    };
  }
  const builders = parsed.builders;
  // Read line by line: the problems stay as the lines keep them, placed only when a feature asks (problemsByLine.ts).
  const problemsByLine = memo?.made(builders)
    ? builders.problemsByLine.concat(lintBuildersByLine(builders, context))
    : undefined;
  let problems =
    problemsByLine === undefined ? [...builders.problems, ...lintBuilders(builders, context, memo)] : undefined;
  return {
    kind: parsed.kind,
    target,
    // Placed when a feature asks (lineMemo.ts): publishing the problems never needs them.
    get machines() {
      return builders.machines;
    },
    get problems() {
      return (problems ??= placedProblems(problemsByLine!));
    },
    ...(problemsByLine === undefined ? {} : { problemsByLine }),
    builders,
    conf: undefined,
  };
}
