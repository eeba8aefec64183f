// One .nix file read for its builders: the declarations, each entry's rendered line, and every
// problem (the machines-file checks on the rendered lines, and the module's own). Pure: the
// caller gives the Nix it targets.
import type { NixVersion } from '../model/nixVersion';
import { findDeclarations, mentionsBuildMachines, type DeclaredEntry, type NixModuleDeclarations } from './declarations';
import { lineProblems, type LineContext } from './lineProblems';
import { moduleProblems } from './moduleChecks';
import type { NixModuleProblem } from './moduleProblem';
import { renderEntry, type RenderedLine } from './renderedLine';

export interface NixModuleAnalysis {
  declarations: NixModuleDeclarations;
  entries: { entry: DeclaredEntry; rendered: RenderedLine }[];
  problems: NixModuleProblem[];
}

/** Undefined for a file that never mentions `buildMachines`: such a file is not ours. */
export function analyzeNixModule(text: string, context: LineContext): NixModuleAnalysis | undefined {
  if (!mentionsBuildMachines(text)) return undefined;
  const declarations = findDeclarations(text);
  const entries = declarations.buildMachines.flatMap((setting) => setting.entries);
  const problems = [...moduleProblems(declarations), ...lineProblems(entries, context)].sort((a, b) => a.span.start - b.span.start);
  return { declarations, entries: entries.map((entry) => ({ entry, rendered: renderedFor(entry, context.version) })), problems };
}

export function renderedFor(entry: DeclaredEntry, version: NixVersion): RenderedLine {
  return renderEntry(entry, version);
}
