// One document read as Nix reads it, with everything the language features need: the machines
// (for symbols, hovers, completion), and every problem (Nix's errors and the silent mistakes).
// Cheap enough for every keystroke: a per-line parse plus a few file checks.
import { lintBuilders, lintNixConf, type LintContext } from '../model/lint';
import { parseBuilders, type Machine, type ParsedBuilders } from '../model/machines';
import { parseNixConf, type ParsedNixConf } from '../model/nixConf';
import type { Problem } from '../model/problem';
import { readFileAsNixDoes } from './readFile';
import type { NixTarget } from './target';

export type DocumentKind = 'nix-machines' | 'nix-conf';

export interface Analysis {
  kind: DocumentKind;
  target: NixTarget;
  /** Every machine Nix reads from the document, includes and all, in Nix's order. */
  machines: Machine[];
  problems: Problem[];
  /** For a machines file: its parse. For nix.conf: the parse of the `builders` Nix uses. */
  builders: ParsedBuilders | undefined;
  conf: ParsedNixConf | undefined;
}

export function analyze(text: string, kind: DocumentKind, path: string | undefined, target: NixTarget): Analysis {
  const context: LintContext = { version: target.version, rules: target.rules, keyHome: target.keyHome, daemon: target.daemon };
  const options = { readFile: readFileAsNixDoes, localSystem: target.localSystem, ...(path ? { path } : {}) };
  if (kind === 'nix-conf') {
    const conf = parseNixConf(text, target.rules, options);
    const builders = conf.builders?.builders;
    return {
      kind,
      target,
      machines: builders?.machines ?? [],
      // Only the `builders` Nix ends up using is parsed by Nix: its errors are Nix's errors.
      problems: [...conf.problems, ...(builders?.problems ?? []), ...lintNixConf(conf, context)],
      builders,
      conf,
    };
  }
  const builders = parseBuilders(text, target.rules, options);
  return { kind, target, machines: builders.machines, problems: [...builders.problems, ...lintBuilders(builders, context)], builders, conf: undefined };
}
