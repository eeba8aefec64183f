// The machines-file checks (model/lint, and Nix's own errors from model/machines.ts) run on the
// lines NixOS renders for a file's `nix.buildMachines` entries, each problem moved onto the
// attribute that wrote the part of the line it is about. Parts whose value is unknown before
// evaluation are stood in for by harmless text, and nothing found in a stand-in is reported.
import { lintBuilders, type LintContext } from '../model/lint';
import { parseBuilders } from '../model/machines';
import type { VersionRules } from '../model/nixVersion';
import type { Problem, Span } from '../model/problem';
import type { DeclaredEntry } from './declarations';
import { nixStringLiteral, type NixModuleProblem } from './moduleProblem';
import { writtenByModule } from './linuxBuilder';
import { protocolProblem } from './protocolValues';
import { renderEntry, type RenderedLine } from './renderedLine';

export interface LineContext extends LintContext {
  rules: VersionRules;
  localSystem: string;
}

/** What stands for an unknown value in the checked line: passes the column's own checks. */
function standIn(attribute: string): string {
  if (attribute === 'maxJobs' || attribute === 'speedFactor') return '1';
  if (attribute === 'sshKey' || attribute === 'publicHostKey') return '-';
  if (attribute === 'protocol') return 'ssh';
  return 'unknown';
}

/**
 * The entry as the checks render it: a `protocol` the module refuses is stood in for like an
 * unknown value, since no line is written with it (its own error says so), and what the
 * store-URI checks would find in `ssh-ng2://` is no news.
 */
function checkedEntry(entry: DeclaredEntry): DeclaredEntry {
  const attributes = new Map(entry.attributes);
  const standIn = (name: string) => {
    const attribute = attributes.get(name)!;
    attributes.set(name, { ...attribute, value: { kind: 'unknown', expression: name } });
  };
  const protocol = entry.attributes.get('protocol');
  if (protocol && protocolProblem(protocol)) standIn('protocol');
  // nix-darwin's linux-builder: its key file and host key are on the Mac once built, not here.
  for (const name of ['sshKey', 'publicHostKey']) {
    const attribute = entry.attributes.get(name);
    if (attribute && writtenByModule(attribute)) standIn(name);
  }
  return { ...entry, attributes };
}

/** The checks' problems for `entries`, all rendered into one machines text (so duplicates are seen). */
export function lineProblems(text: string, entries: DeclaredEntry[], context: LineContext): NixModuleProblem[] {
  const lines: { entry: DeclaredEntry; rendered: RenderedLine; offset: number }[] = [];
  let machinesText = '';
  for (const entry of entries) {
    const rendered = renderEntry(checkedEntry(entry), context.version, standIn);
    lines.push({ entry, rendered, offset: machinesText.length });
    machinesText += `${rendered.line}\n`;
  }
  // No `@file` is read from a rendered line: a host name starting with `@` is not ours to open.
  const parsed = parseBuilders(machinesText, context.rules, {
    readFile: () => undefined,
    localSystem: context.localSystem,
  });
  const found: NixModuleProblem[] = [];
  for (const p of [...parsed.problems, ...lintBuilders(parsed, context)]) {
    const line = lineAt(lines, p.span.start);
    if (!line) continue;
    const placed = placeOnAttribute(p, text, line.entry, line.rendered, line.offset, context);
    if (placed) found.push(placed);
  }
  return found;
}

function lineAt<T extends { offset: number }>(lines: T[], at: number): T | undefined {
  let found: T | undefined;
  for (const line of lines) if (line.offset <= at) found = line;
  return found;
}

function placeOnAttribute(
  p: Problem,
  text: string,
  entry: DeclaredEntry,
  rendered: RenderedLine,
  offset: number,
  context: LineContext,
): NixModuleProblem | undefined {
  const start = p.span.start - offset;
  const end = Math.max(p.span.end - offset, start + 1);
  const touched = rendered.pieces.filter((piece) => piece.start < end && piece.end > start);
  if (touched.some((piece) => piece.unknown)) return undefined;
  const target =
    touched.find((piece) => piece.source !== undefined && piece.start <= start) ??
    touched.find((piece) => piece.source !== undefined);
  const span: Span = target?.source ?? { start: entry.span.start, end: entry.span.start + 1 };
  const shown = renderEntry(entry, context.version).line;
  const placed: NixModuleProblem = {
    code: p.code,
    severity: p.severity,
    message: `${p.message}${target?.attribute ? ` (from \`${target.attribute}\`)` : ''} — in the line NixOS writes for this builder: \`${shown}\``,
    span,
  };
  // "Did you mean …?" on a piece written as one string literal: the fix rewrites that literal.
  const suggestion = p.data?.suggestion;
  if (
    suggestion !== undefined &&
    target?.source &&
    target.start === start &&
    target.end === end &&
    /^"[^"\\$]*"$/.test(text.slice(span.start, span.end))
  ) {
    placed.fix = { title: `Change to ${suggestion}`, span, newText: nixStringLiteral(suggestion) };
  }
  return placed;
}
