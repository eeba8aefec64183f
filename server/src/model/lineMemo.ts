// What one document's previous analysis found on each line, so that an edit re-reads only the
// lines it changed. A line of a machines file is read on its own (Nix splits on newlines
// before anything else, and no entry spans two lines), so a line's entries, its machines, the
// parser's errors and the per-machine warnings are a function of its text alone, up to where
// it starts: a line found again at another offset is moved, never read again. What depends on
// other lines (duplicates, the order of problems) and on the file system (`@file` includes,
// SSH key files) is not kept here and is worked out on every analysis.
import { columnNames, type BuildersEntry, type Column, type Machine, type MachineColumns } from './machines';
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
    const entries: LineEntry[] = [];
    for (const { entry, machine, problems } of read.entries) {
      const moved = machine === undefined ? undefined : movedMachine(machine, delta);
      if (machine !== undefined) {
        const lint = this.lints.get(machine);
        if (lint !== undefined)
          this.lints.set(moved!, {
            before: movedProblems(lint.before, delta),
            after: movedProblems(lint.after, delta),
          });
      }
      const movedEntry: BuildersEntry = {
        kind: entry.kind,
        text: entry.text,
        span: movedSpan(entry.span, delta),
        file: entry.file,
        includedVia: entry.includedVia,
      };
      entries.push({ entry: movedEntry, machine: moved, problems: movedProblems(problems, delta) });
    }
    return { start: read.start + delta, entries };
  }
}

// The copies below are written out field by field, not spread: moving every line after an edit
// is the cost of a keystroke near the top of a long file, and a spread copies several times
// slower. A field added to these types and not copied here fails the incremental test.

function movedSpan(span: Span, delta: number): Span {
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

function movedProblems(problems: Problem[], delta: number): Problem[] {
  return problems.length === 0 ? problems : problems.map((p) => movedProblem(p, delta));
}

/** A problem of a line of the parsed text itself: only its span is an offset (no `fileSpan`, no related place). */
function movedProblem(p: Problem, delta: number): Problem {
  return { ...p, span: movedSpan(p.span, delta) };
}
