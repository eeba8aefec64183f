// What one document's previous analysis found on each line, so that an edit re-reads only the
// lines it changed. A line of a machines file is read on its own (Nix splits on newlines
// before anything else, and no entry spans two lines), so a line's entries, its machines, the
// parser's errors and the per-machine warnings are a function of its text alone, up to where
// it starts: a line found again at another offset is moved, never read again. What depends on
// other lines (duplicates, the order of problems) and on the file system (`@file` includes,
// SSH key files) is not kept here and is worked out on every analysis.
import type { BuildersEntry, Column, Machine } from './machines';
import type { Problem, Span } from './problem';

/** One entry of a line, with what reading it gave (the row's machine, the parser's errors). */
export interface LineEntry {
  entry: BuildersEntry;
  machine: Machine | undefined;
  problems: Problem[];
}

/** The per-machine warnings that depend on the text only (not the SSH key checks, which read files). */
export interface MachineLint {
  /** Before the SSH key's warnings, in `lintMachine`'s order. */
  before: Problem[];
  /** After them. */
  after: Problem[];
}

export interface LineRead {
  /** Where the line starts in the text it was read from. */
  start: number;
  entries: LineEntry[];
}

export class LineMemo {
  private previous = new Map<string, LineRead>();
  private current = new Map<string, LineRead>();
  private readonly lints = new WeakMap<Machine, MachineLint>();
  private key: string | undefined;

  /**
   * Starts reading a new version. `key` names everything a line's reading depends on besides
   * its text (the targeted Nix, the local system, the key home): when it changed, nothing is reused.
   */
  begin(key: string): void {
    if (key !== this.key) {
      this.key = key;
      this.previous = new Map();
    } else if (this.current.size > 0) {
      this.previous = this.current;
    }
    this.current = new Map();
  }

  /** The line as the last version read it, moved to `start`; undefined when it is new. */
  line(text: string, start: number): LineRead | undefined {
    const known = this.current.get(text) ?? this.previous.get(text);
    if (known === undefined) return undefined;
    const read = known.start === start ? known : this.moved(known, start - known.start);
    this.current.set(text, read);
    return read;
  }

  remember(text: string, read: LineRead): void {
    this.current.set(text, read);
  }

  lintOf(machine: Machine): MachineLint | undefined {
    return this.lints.get(machine);
  }

  rememberLint(machine: Machine, lint: MachineLint): void {
    this.lints.set(machine, lint);
  }

  private moved(read: LineRead, delta: number): LineRead {
    return {
      start: read.start + delta,
      entries: read.entries.map(({ entry, machine, problems }) => {
        const moved = machine === undefined ? undefined : movedMachine(machine, delta);
        if (machine !== undefined) {
          const lint = this.lints.get(machine);
          if (lint !== undefined) this.lints.set(moved!, { before: lint.before.map((p) => movedProblem(p, delta)), after: lint.after.map((p) => movedProblem(p, delta)) });
        }
        return { entry: { ...entry, span: movedSpan(entry.span, delta) }, machine: moved, problems: problems.map((p) => movedProblem(p, delta)) };
      }),
    };
  }
}

function movedSpan(span: Span, delta: number): Span {
  return { start: span.start + delta, end: span.end + delta };
}

function movedColumn(column: Column, delta: number): Column {
  return { ...column, span: movedSpan(column.span, delta) };
}

function movedMachine(machine: Machine, delta: number): Machine {
  const columns = { ...machine.columns };
  for (const name of Object.keys(columns) as (keyof typeof columns)[]) columns[name] = movedColumn(columns[name]!, delta);
  return { ...machine, rowSpan: movedSpan(machine.rowSpan, delta), columns, extraColumns: machine.extraColumns.map((c) => movedColumn(c, delta)) };
}

/** A problem of a line of the parsed text itself: only its span is an offset (no `fileSpan`, no related place). */
function movedProblem(p: Problem, delta: number): Problem {
  return { ...p, span: movedSpan(p.span, delta) };
}
