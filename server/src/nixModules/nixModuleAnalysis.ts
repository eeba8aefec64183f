// One .nix file read for its builders: the declarations, each entry's rendered line, and every
// problem (the machines-file checks on the rendered lines, and the module's own). Pure: the
// caller gives the Nix it targets and, in a trusted workspace, the values real Nix evaluated.
import type { NixVersion } from '../model/nixVersion';
import {
  findDeclarations,
  mentionsBuildMachines,
  type DeclaredEntry,
  type NixModuleDeclarations,
} from './declarations';
import type { BuilderConfiguration } from './builderConfigurations';
import { lineProblems, type LineContext } from './lineProblems';
import { writtenByModule } from './linuxBuilder';
import { moduleProblems } from './moduleChecks';
import type { NixModuleProblem } from './moduleProblem';
import type { NixValue } from './nixValue';
import { renderEntry, type RenderedLine } from './renderedLine';
import { sshUserTrustProblems } from './sshUserTrust';

export interface NixModuleAnalysis {
  declarations: NixModuleDeclarations;
  entries: { entry: DeclaredEntry; rendered: RenderedLine }[];
  problems: NixModuleProblem[];
}

/** Values found by evaluation, by where the attribute's value starts in the file. */
export type EvaluatedValues = ReadonlyMap<number, NixValue>;

/** The builders' own configurations found in the workspace, for a file at `file`. */
export interface WorkspaceBuilders {
  file: string;
  configurations: readonly BuilderConfiguration[];
}

/** Undefined for a file that never mentions `buildMachines`: such a file is not ours. */
export function analyzeNixModule(
  text: string,
  context: LineContext,
  evaluated: EvaluatedValues = new Map(),
  workspace: WorkspaceBuilders = { file: '', configurations: [] },
): NixModuleAnalysis | undefined {
  if (!mentionsBuildMachines(text)) return undefined;
  const declarations = findDeclarations(text);
  const entries = declarations.buildMachines.flatMap((setting) => setting.entries);
  for (const entry of entries) {
    for (const attribute of entry.attributes.values()) {
      const value = attribute.value.kind === 'unknown' ? evaluated.get(attribute.valueSpan.start) : undefined;
      // An evaluated list's items have no place of their own: they are shown on the expression.
      if (value)
        attribute.value =
          value.kind === 'list'
            ? { kind: 'list', items: value.items.map((item) => ({ ...item, span: attribute.valueSpan })) }
            : value;
    }
  }
  const own = [
    ...moduleProblems(declarations, text),
    ...sshUserTrustProblems(entries, workspace.configurations, workspace.file),
  ];
  // A value the module refuses stops the system's build: no line is written, so what the
  // machines-file checks find in that value (`ssh-ng2://b` is no store URI) is not said too.
  const refused = own.filter((p) => p.severity === 'error');
  const fromLine = lineProblems(text, entries, context).filter(
    (p) => !refused.some((r) => r.span.start <= p.span.start && p.span.end <= r.span.end),
  );
  const problems = [...own, ...fromLine].sort((a, b) => a.span.start - b.span.start);
  return {
    declarations,
    entries: entries.map((entry) => ({ entry, rendered: renderedFor(entry, context.version) })),
    problems,
  };
}

/** True when some entry logs in as a named user: only then are the builders' configurations read. */
export function namesSshUsers(analysis: NixModuleAnalysis): boolean {
  return analysis.entries.some(({ entry }) => entry.attributes.has('sshUser'));
}

/** The attributes whose values only evaluation can give: where each starts, and its expression. */
export function unknownValues(
  analysis: NixModuleAnalysis,
): { span: { start: number; end: number }; expression: string }[] {
  return analysis.entries.flatMap(({ entry }) =>
    [...entry.attributes.values()].flatMap((a) =>
      // What nix-darwin's module writes itself is no expression of the file's.
      a.value.kind === 'unknown' && !writtenByModule(a) ? [{ span: a.valueSpan, expression: a.value.expression }] : [],
    ),
  );
}

function renderedFor(entry: DeclaredEntry, version: NixVersion): RenderedLine {
  return renderEntry(entry, version);
}
