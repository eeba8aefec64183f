// One .nix file read for its builders: the declarations, each entry's rendered line, and every
// problem (the machines-file checks on the rendered lines, and the module's own). Pure: the
// caller gives the Nix it targets and, in a trusted workspace, the values real Nix evaluated,
// and the builders it found in the parts of the list that are not written out (`map f hosts`).
import type { NixVersion } from '../model/nixVersion';
import type { Span } from '../model/problem';
import {
  findDeclarations,
  mentionsBuildMachines,
  type DeclaredEntry,
  type EntryAttribute,
  type EntryTemplate,
  type NixModuleDeclarations,
} from './declarations';
import type { BuilderConfiguration } from './builderConfigurations';
import { lineProblems, type LineContext } from './lineProblems';
import { writtenByModule } from './linuxBuilder';
import { moduleProblems } from './moduleChecks';
import type { NixModuleProblem } from './moduleProblem';
import type { EvaluatedEntries } from './evaluation';
import type { NixValue } from './nixValue';
import { renderEntry, type RenderedLine } from './renderedLine';
import { sshUserTrustProblems } from './sshUserTrust';

export interface RenderedEntry {
  entry: DeclaredEntry;
  rendered: RenderedLine;
}

/** A part of a `nix.buildMachines` list that is not written out, and what evaluation made of it. */
export interface ListPart {
  span: Span;
  /** The builders real Nix found in it; undefined when it was not (or could not be) evaluated. */
  builders: RenderedEntry[] | undefined;
}

export interface NixModuleAnalysis {
  declarations: NixModuleDeclarations;
  /** Every builder: the written entries, then those evaluated from list parts (spanning their part). */
  entries: RenderedEntry[];
  lists: ListPart[];
  problems: NixModuleProblem[];
}

/** Values found by evaluation, by where the attribute's value starts in the file. */
export type EvaluatedValues = ReadonlyMap<number, NixValue>;
/** Builders found by evaluation, by where the list part starts in the file. */
export type EvaluatedLists = ReadonlyMap<number, EvaluatedEntries>;

/** The builders' own configurations found in the workspace, for a file at `file`. */
export interface WorkspaceBuilders {
  file: string;
  configurations: readonly BuilderConfiguration[];
}

/** What the caller found beside the text: evaluation's results (trusted only), the builders' own configurations. */
export interface WhatIsKnown {
  evaluated?: EvaluatedValues;
  evaluatedLists?: EvaluatedLists;
  workspace?: WorkspaceBuilders;
}

/** Undefined for a file that never mentions `buildMachines`: such a file is not ours. */
export function analyzeNixModule(
  text: string,
  context: LineContext,
  known: WhatIsKnown = {},
): NixModuleAnalysis | undefined {
  const evaluated: EvaluatedValues = known.evaluated ?? new Map();
  const evaluatedLists: EvaluatedLists = known.evaluatedLists ?? new Map();
  const workspace: WorkspaceBuilders = known.workspace ?? { file: '', configurations: [] };
  if (!mentionsBuildMachines(text)) return undefined;
  const declarations = findDeclarations(text);
  const lists: { span: Span; entries: DeclaredEntry[] | undefined }[] = [];
  for (const setting of declarations.buildMachines) {
    for (const span of setting.unknownParts) {
      const found = evaluatedLists.get(span.start);
      const made = found && found.map((item, index) => evaluatedEntry(span, item, index, setting.templates));
      lists.push({ span, entries: made?.filter((e) => e !== undefined) });
      // Checked like written entries: the module's checks and the line's see them too.
      if (made) setting.entries.push(...made.filter((e) => e !== undefined));
    }
  }
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
  const problems = withoutListFixes(
    [...own, ...fromLine],
    lists.flatMap((l) => (l.entries ? [l.span] : [])),
  ).sort((a, b) => a.span.start - b.span.start);
  const rendered = new Map(entries.map((entry) => [entry, { entry, rendered: renderedFor(entry, context.version) }]));
  return {
    declarations,
    entries: [...rendered.values()],
    lists: lists.map(({ span, entries: made }) => ({ span, builders: made?.map((e) => rendered.get(e)!) })),
    problems,
  };
}

/** True when some entry logs in as a named user: only then are the builders' configurations read. */
export function namesSshUsers(analysis: NixModuleAnalysis): boolean {
  return analysis.entries.some(({ entry }) => entry.attributes.has('sshUser'));
}

/**
 * One builder of an evaluated list part as an entry: an attribute the part's function (or the
 * let-bound list's entry of the same place) writes out (`{ hostName = h; … }`) keeps the name's place, and a literal there its value's place (a
 * fix there is right for every builder); anything else is placed on the whole part. An
 * attribute evaluation could not give is unknown, shown as the function writes it.
 */
function evaluatedEntry(
  part: Span,
  item: ReadonlyMap<string, NixValue | undefined> | undefined,
  index: number,
  templates: EntryTemplate[],
): DeclaredEntry | undefined {
  if (!item) return undefined;
  const template = templates.find(
    (t) => t.part.start === part.start && t.part.end === part.end && (t.item === undefined || t.item === index),
  )?.entry;
  const attributes = new Map<string, EntryAttribute>();
  for (const [name, value] of item) {
    const written = template?.attributes.get(name);
    const literal = written && written.value.kind !== 'unknown' ? written : undefined;
    attributes.set(name, {
      name,
      nameSpan: written?.nameSpan ?? part,
      valueSpan: literal?.valueSpan ?? part,
      value:
        literal?.value ??
        value ??
        ({ kind: 'unknown', expression: written?.value.kind === 'unknown' ? written.value.expression : name } as const),
    });
  }
  return { span: part, attributes };
}

/** A fix on a whole list part would replace the code that makes every builder: those are dropped. */
function withoutListFixes(problems: NixModuleProblem[], parts: Span[]): NixModuleProblem[] {
  const seen = new Set<string>();
  return problems.flatMap((p) => {
    // A literal of the function is checked once per builder it makes: said once, with the first one's line.
    const words = p.message.replace(/ — in the line NixOS writes for this builder: `.*`$/s, '');
    const key = `${p.code}\0${p.span.start}\0${p.span.end}\0${words}`;
    if (seen.has(key)) return [];
    seen.add(key);
    if (!p.fix || !parts.some((s) => s.start === p.fix!.span.start && s.end === p.fix!.span.end)) return [p];
    const { fix: _, ...rest } = p;
    return [rest];
  });
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
