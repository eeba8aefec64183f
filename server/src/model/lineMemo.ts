// What one document's previous analysis found on each line, so that an edit re-reads only the
// lines it changed. A line of a machines file is read on its own (Nix splits on newlines
// before anything else, and no entry spans two lines), so a line's entries, its machines, the
// parser's errors and the per-machine warnings are a function of its text alone: each line is
// read with spans counted from its own start, and placed in the text (spans moved to where it
// is) only when someone asks for the machines or entries. The lines before the first changed
// character and after the last are matched by position, never looked up or read again; only
// the lines between are looked up by text (a line moved or pasted) or read. What depends on
// other lines (duplicates, the order of problems) and on files (`@file` lines) is worked out on
// every analysis; the SSH key checks are kept with the line while the key files' watcher
// (lint `KeyInspector.generation`) says nothing changed. A plain line (plainLine.ts) is not
// read at all until its entries are asked for, and then made where it is.
import {
  columnNames,
  IncludeLines,
  readLine,
  type BuildersEntry,
  type BuildersInclude,
  type Column,
  type Machine,
  type MachineColumns,
  type ParseBuildersOptions,
  type ParsedBuilders,
} from './machines';
import type { VersionRules } from './nixVersion';
import { plainEntry, plainRead, readPlain, type PlainMachine } from './plainLine';
import type { Problem, Span } from './problem';
import { placedProblems, placedRun, type LineProblems } from './problemsByLine';

/** One entry of a line, with what reading it gave (the row's machine, the parser's errors). */
export interface LineEntry {
  entry: BuildersEntry;
  machine: Machine | undefined;
  problems: Problem[];
}

/** A line read on its own: every span counted from the line's start. */
export interface LineRead {
  text: string;
  /** Set when the line is plain (plainLine.ts): then `entries` are read only when first asked for. */
  readonly plain: PlainMachine | undefined;
  readonly entries: LineEntry[];
  /** Its machines' warnings in `lintMachine`'s order, from the line's start, and the key files' generation they saw. */
  lint: { generation: number; problems: Problem[]; run: LineProblems | undefined } | undefined;
  /** The last copy of its entries placed in a text: kept while the line stays where it is. */
  placed: { start: number; entries: LineEntry[] } | undefined;
}

/** One line of a version: read on its own (kept), or with an `@file` (read again each time, spans in the text). */
export type TextLine =
  | { text: string; start: number; read: LineRead }
  | { text: string; start: number; read: undefined; entries: LineEntry[] };

/** A parse by `LineMemo.parse`: a ParsedBuilders whose entries and machines are placed when first asked for. */
export interface LineParse extends ParsedBuilders {
  lines: TextLine[];
  /** The parser's errors (`problems`, placed when first asked for) as the lines keep them. */
  problemsByLine: LineProblems[];
}

/** What a line's reading depends on besides its text (the same for every line of a memo: `LineMemo.begin`). */
interface LineRules {
  rules: VersionRules;
  localSystem: string | undefined;
}

/**
 * A line's reading; a plain line's entries are made from its known columns when first asked for
 * (plainLine.ts' `plainEntry`), and what it is plain with is kept in the reading itself (one
 * object less per line).
 */
class LineReading implements LineRead, PlainMachine {
  lint: LineRead['lint'] = undefined;
  placed: LineRead['placed'] = undefined;
  uriStart = -1;
  uriEnd = -1;
  bare = false;
  uriHash = 0;
  keyStart = -1;
  keyEnd = -1;

  constructor(
    readonly text: string,
    plain: PlainMachine | undefined,
    private read: LineEntry[] | undefined,
    private readonly how: LineRules,
  ) {
    if (plain !== undefined) {
      this.uriStart = plain.uriStart;
      this.uriEnd = plain.uriEnd;
      this.bare = plain.bare;
      this.uriHash = plain.uriHash;
      this.keyStart = plain.keyStart;
      this.keyEnd = plain.keyEnd;
    }
  }

  get plain(): PlainMachine | undefined {
    return this.uriStart >= 0 ? this : undefined;
  }

  get entries(): LineEntry[] {
    return (this.read ??= this.entriesAt(0));
  }

  /** A plain line's entries (it has no `@file`: one machine) with spans from `start`. */
  entriesAt(start: number): LineEntry[] {
    return [plainEntry(this.text, this, this.how.rules, this.how.localSystem, start)];
  }
}

export class LineMemo {
  private last: { text: string; lines: TextLine[] } | undefined;
  private key: string | undefined;
  private readonly parses = new WeakSet<ParsedBuilders>();

  /**
   * Starts reading a new version. `key` names everything a line's reading depends on besides
   * its text (the targeted Nix, the local system, the key home): when it changed, nothing is reused.
   */
  begin(key: string): void {
    if (key !== this.key) {
      this.key = key;
      this.last = undefined;
    }
  }

  /** True for a parse this memo made (its lines can be linted line by line). */
  made(parsed: ParsedBuilders): parsed is LineParse {
    return this.parses.has(parsed);
  }

  /** `parseBuilders` of `text` with the previous version's lines reused (machines.ts calls it). */
  parse(text: string, rules: VersionRules, options: ParseBuildersOptions): LineParse {
    const includeLines = new IncludeLines(rules, options);
    const how: LineRules = { rules, localSystem: options.localSystem };
    const read = (line: string, start: number, known: Map<string, LineRead>): TextLine => {
      // No lookup when nothing is known (a first version): hashing every line would be a tenth of the parse.
      let reading = known.size === 0 ? undefined : known.get(line);
      if (reading === undefined) {
        if (readPlain(line)) return { text: line, start, read: new LineReading(line, plainRead, undefined, how) };
        const entries = readLine(line, rules, options.localSystem);
        if (entries === undefined)
          return { text: line, start, read: undefined, entries: includeLines.read(line, start) };
        reading = new LineReading(line, undefined, entries, how);
      }
      return { text: line, start, read: reading };
    };
    const again = (old: TextLine, start: number): TextLine =>
      old.read !== undefined
        ? old.start === start
          ? old
          : { text: old.text, start, read: old.read }
        : { text: old.text, start, read: undefined, entries: includeLines.read(old.text, start) };

    const lines: TextLine[] = [];
    const last = this.last;
    const { before, after } = last === undefined ? { before: 0, after: 0 } : unchangedLines(last, text);
    const old = last?.lines ?? [];
    // The lines that may have changed are looked up among the old lines between them (a line moved or cut and pasted).
    const known = new Map<string, LineRead>();
    for (let i = before; i < old.length - after; i++) {
      const line = old[i]!;
      if (line.read !== undefined) known.set(line.text, line.read);
    }
    for (let i = 0; i < before; i++) lines.push(again(old[i]!, old[i]!.start));
    const delta = text.length - (last?.text.length ?? 0);
    const from = before === 0 ? 0 : old[before]!.start;
    const to = after === 0 ? text.length : old[old.length - after]!.start + delta - 1;
    for (let start = from; start <= to;) {
      let end = text.indexOf('\n', start);
      if (end < 0 || end > to) end = to;
      lines.push(read(text.slice(start, end), start, known));
      start = end + 1;
    }
    for (let i = old.length - after; i < old.length; i++) lines.push(again(old[i]!, old[i]!.start + delta));
    this.last = { text, lines };

    // The parser's errors as the lines keep them, not moved (problemsByLine.ts).
    const problemsByLine: LineProblems[] = includeLines.problems.length === 0 ? [] : [placedRun(includeLines.problems)];
    for (const line of lines) {
      if (line.read?.plain !== undefined) continue; // Nix takes it: no error
      for (const { problems } of line.read === undefined ? line.entries : line.read.entries) {
        if (problems.length === 0) continue;
        problemsByLine.push(
          line.read === undefined ? placedRun(problems) : { start: line.start, problems, line: line.text },
        );
      }
    }
    const parsed = placedLater(lines, includeLines.includes, problemsByLine);
    this.parses.add(parsed);
    return parsed;
  }
}

/**
 * How many of the old version's lines, from the start and from the end, are in the new text
 * unchanged (the same characters up to and with their newline; at the end, at the same distance
 * from the end). They never overlap, and the first and last line count only when whole.
 */
function unchangedLines(last: { text: string; lines: TextLine[] }, text: string): { before: number; after: number } {
  const prefix = commonPrefix(last.text, text);
  const lines = last.lines;
  let before = 0;
  // A line is unchanged when its newline is in the common prefix (the last line has none).
  while (before < lines.length - 1 && lines[before + 1]!.start <= prefix) before++;
  const suffix = commonSuffix(last.text, text, Math.min(last.text.length, text.length) - prefix);
  let after = 0;
  // A line is unchanged when the newline before it is in the common suffix.
  while (
    after < lines.length - Math.max(before, 1) &&
    lines[lines.length - 1 - after]!.start - 1 >= last.text.length - suffix
  )
    after++;
  return { before, after };
}

/**
 * The length of the longest common start: a binary search whose each step compares one half
 * of what is left as strings (a comparison of slices is a memcmp; `startsWith` or a loop over
 * characters is hundreds of times slower on a long text).
 */
function commonPrefix(a: string, b: string): number {
  let same = 0;
  let most = Math.min(a.length, b.length);
  while (same < most) {
    const mid = (same + most + 1) >> 1;
    if (a.slice(same, mid) === b.slice(same, mid)) same = mid;
    else most = mid - 1;
  }
  return same;
}

/** The length of the longest common end, at most `max`. */
function commonSuffix(a: string, b: string, max: number): number {
  let same = 0;
  let most = max;
  while (same < most) {
    const mid = (same + most + 1) >> 1;
    if (a.slice(a.length - mid, a.length - same) === b.slice(b.length - mid, b.length - same)) same = mid;
    else most = mid - 1;
  }
  return same;
}

/** A line's entries where the line is (the last copy when it has not moved). */
export function placedEntries(line: TextLine): LineEntry[] {
  if (line.read === undefined) return line.entries;
  const read = line.read;
  if (read instanceof LineReading && read.plain !== undefined) {
    // A plain line's entry is made where the line is (no copy from its start to move there).
    if (read.placed?.start !== line.start) read.placed = { start: line.start, entries: read.entriesAt(line.start) };
    return read.placed.entries;
  }
  if (line.start === 0) return read.entries;
  if (read.placed?.start !== line.start)
    read.placed = { start: line.start, entries: movedEntries(read.entries, line.start) };
  return read.placed.entries;
}

/** The parse with its entries, machines and problems placed when first read (own properties, as a plain parse has). */
function placedLater(lines: TextLine[], includes: BuildersInclude[], problemsByLine: LineProblems[]): LineParse {
  let entries: BuildersEntry[] | undefined;
  let machines: Machine[] | undefined;
  let problems: Problem[] | undefined;
  return {
    lines,
    includes,
    problemsByLine,
    get problems(): Problem[] {
      return (problems ??= placedProblems(problemsByLine));
    },
    get entries(): BuildersEntry[] {
      if (entries === undefined) {
        entries = [];
        for (const line of lines) for (const { entry } of placedEntries(line)) entries.push(entry);
      }
      return entries;
    },
    get machines(): Machine[] {
      if (machines === undefined) {
        machines = [];
        for (const line of lines)
          for (const { machine } of placedEntries(line)) if (machine !== undefined) machines.push(machine);
      }
      return machines;
    },
  };
}

// The copies below are written out field by field, not spread: a spread copies several times
// slower. A field added to these types and not copied here fails the incremental test.

function movedEntries(entries: LineEntry[], delta: number): LineEntry[] {
  return entries.map(({ entry, machine, problems }) => ({
    entry: {
      kind: entry.kind,
      text: entry.text,
      span: movedSpan(entry.span, delta),
      file: entry.file,
      includedVia: entry.includedVia,
    },
    machine: machine === undefined ? undefined : movedMachine(machine, delta),
    problems: problems.length === 0 ? problems : problems.map((p) => movedProblem(p, delta)),
  }));
}

export function movedSpan(span: Span, delta: number): Span {
  return { start: span.start + delta, end: span.end + delta };
}

function movedColumn(column: Column, delta: number): Column {
  return { text: column.text, span: movedSpan(column.span, delta), isSet: column.isSet };
}

function movedMachine(machine: Machine, delta: number): Machine {
  const columns: MachineColumns = { storeUri: movedColumn(machine.columns.storeUri, delta) };
  for (const name of columnNames) {
    const column = machine.columns[name];
    if (column !== undefined && name !== 'storeUri') columns[name] = movedColumn(column, delta);
  }
  return {
    row: machine.row,
    rowSpan: movedSpan(machine.rowSpan, delta),
    file: machine.file,
    includedVia: machine.includedVia,
    columns,
    extraColumns: machine.extraColumns.length === 0 ? [] : machine.extraColumns.map((c) => movedColumn(c, delta)),
    storeUri: machine.storeUri,
    systems: machine.systems,
    usesLocalSystem: machine.usesLocalSystem,
    sshKey: machine.sshKey,
    maxJobs: machine.maxJobs,
    speedFactor: machine.speedFactor,
    supportedFeatures: machine.supportedFeatures,
    mandatoryFeatures: machine.mandatoryFeatures,
    publicHostKey: machine.publicHostKey,
    valid: machine.valid,
  };
}

/** A problem of a line of the parsed text itself: only its span is an offset (no `fileSpan`, no related place). */
export function movedProblem(p: Problem, delta: number): Problem {
  if (delta === 0) return p;
  const moved: Problem = { code: p.code, severity: p.severity, message: p.message, span: movedSpan(p.span, delta) };
  // The optional fields only when set, as the problem has them (an own `undefined` is not the same).
  if (p.nixMessage !== undefined) moved.nixMessage = p.nixMessage;
  if (p.nixTrace !== undefined) moved.nixTrace = p.nixTrace;
  if (p.file !== undefined) moved.file = p.file;
  if (p.fileSpan !== undefined) moved.fileSpan = p.fileSpan;
  if (p.data !== undefined) moved.data = p.data;
  return moved;
}
