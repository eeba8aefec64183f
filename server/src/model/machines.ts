// The builders text (a machines file, or the value of the `builders` setting) read exactly the
// way Nix reads it (libstore/machines.cc), with the offsets of every piece so the language
// server can point at the exact column. Two steps, as in Nix: first the text is split into
// entries and `@file` includes are expanded; then each machine entry is split into columns.
// Only what Nix rejects is reported here (errors); what Nix lets through but will go wrong is
// for the language layer to warn about, from the values and spans given here.

import { FileNotRead, notReadMessage, type NotReadReason } from './fileNotRead';
import { problem, type Problem, type Span } from './problem';
import { storeReferenceError } from './storeReference';
import type { VersionRules } from './nixVersion';
import type { LineEntry, LineMemo } from './lineMemo';
import {
  base64Refusal,
  commaList,
  commaSet,
  isBlank,
  readFloat,
  readUnsignedInt,
  subPiece,
  tokenize,
  trimPiece,
  type Piece,
} from './nixStrings';

/** One whitespace-separated column of a machine entry. */
export interface Column {
  text: string;
  span: Span;
  /** False for `-`, which means "use the default" (Nix's `isSet`). */
  isSet: boolean;
}

/** The eight columns of a machine entry, each present when the entry has that many columns. */
export interface MachineColumns {
  storeUri: Column;
  systems?: Column;
  sshKey?: Column;
  maxJobs?: Column;
  speedFactor?: Column;
  supportedFeatures?: Column;
  mandatoryFeatures?: Column;
  publicHostKey?: Column;
}

/** The eight columns in Nix's order (column 1 is `storeUri`). */
export const columnNames = [
  'storeUri',
  'systems',
  'sshKey',
  'maxJobs',
  'speedFactor',
  'supportedFeatures',
  'mandatoryFeatures',
  'publicHostKey',
] as const satisfies readonly (keyof MachineColumns)[];

/** Where an entry was written: the parsed text itself, or a file reached through `@file`. */
export interface EntryOrigin {
  /** The included file the entry is in; undefined when it is in the parsed text. */
  file: string | undefined;
  /** For an entry from an included file: the `@file` entry of the parsed text that led to it. */
  includedVia: Span | undefined;
}

/** A builder as Nix reads it from one entry. Spans are in `file` (or the parsed text). */
export interface Machine extends EntryOrigin {
  /** The entry as Nix quotes it in its error messages ("a row"). */
  row: string;
  rowSpan: Span;
  columns: MachineColumns;
  /** Columns after the eighth: Nix ignores them without a word. */
  extraColumns: Column[];
  /** The store URI Nix opens: `ssh://` is put in front of a bare host, as Nix does. */
  storeUri: string;
  /** The systems it builds for: before Nix 2.20 in the written order with duplicates (a list), from 2.20 sorted and each once (`systemsAreASet`). */
  systems: string[];
  /** Column 2 is unset: the machine builds for the local `system` (given in the options). */
  usesLocalSystem: boolean;
  /** Column 3, the SSH identity file; undefined means ssh's own identities. */
  sshKey: string | undefined;
  /** Column 4; 1 when unset (or when invalid: see `valid`). 0 is accepted by Nix. */
  maxJobs: number;
  /** Column 5; 1 when unset; Nix turns 0 into 1. */
  speedFactor: number;
  /** Column 6, as Nix keeps it: a set, sorted byte-wise, no duplicates. */
  supportedFeatures: string[];
  /** Column 7, as Nix keeps it: a set, sorted byte-wise, no duplicates. */
  mandatoryFeatures: string[];
  /** Column 8 as written (Nix checks it is base64 and passes the text on). */
  publicHostKey: string | undefined;
  /** False when Nix rejects this entry (and with it the whole builders text). */
  valid: boolean;
}

export type EntryKind =
  /** A builder. */
  | 'machine'
  /** `@file`. */
  | 'include'
  /** A `#` comment (the part Nix cuts off). */
  | 'comment'
  /** Nothing but whitespace: an error before Nix 2.29, skipped from 2.29. */
  | 'blank';

/** One piece of the text as Nix splits it. */
export interface BuildersEntry extends EntryOrigin {
  kind: EntryKind;
  /** What Nix sees: the comment cut off, and from Nix 2.29 trimmed. */
  text: string;
  span: Span;
}

export type IncludeStatus =
  /** The file was read and its entries expanded. */
  | 'read'
  /** No such file: Nix skips it silently. */
  | 'missing'
  /** The file exists but cannot be read: Nix fails. */
  | 'unreadable'
  /** The file is already being expanded: Nix recurses until the stack overflows. */
  | 'cycle'
  /** A FIFO or a device: never opened (Nix hangs on it, or reads it without end). */
  | 'not-a-file'
  /** Over the size we read: not checked (Nix reads it). */
  | 'too-large'
  /** Not looked at: no `readFile` was given, or the expansion limit was reached. */
  | 'not-read';

/** An `@file` entry. */
export interface BuildersInclude extends EntryOrigin {
  /** The path as Nix passes it to readFile: the text after `@`, trimmed. */
  path: string;
  pathSpan: Span;
  /** The whole `@…` entry. */
  span: Span;
  status: IncludeStatus;
}

export interface ParsedBuilders {
  /** Every piece of the text and of the included files, in Nix's order. */
  entries: BuildersEntry[];
  /** Every machine entry, including those Nix rejects (`valid: false`), in Nix's order. */
  machines: Machine[];
  includes: BuildersInclude[];
  /** Include problems first (Nix expands all includes before it reads any machine), then rows. */
  problems: Problem[];
}

export interface ParseBuildersOptions {
  /**
   * Reads an included file. Return undefined when it does not exist (Nix skips it silently);
   * throw when it exists but cannot be read (Nix fails with the thrown message). Relative
   * paths are as written: Nix resolves them against its working directory.
   */
  readFile?: (path: string) => string | undefined;
  /** The file the text comes from, so that it including itself is seen as a cycle. */
  path?: string;
  /** Nix's `system` setting: the systems of a machine whose column 2 is unset. */
  localSystem?: string;
  /**
   * The document's memo of what its previous version read on each line (begun by the caller):
   * the parse is then its (`LineMemo.parse`), unchanged lines of the parsed text kept.
   */
  lines?: LineMemo;
}

/** Nix recurses without a limit; we stop expanding after this many entries from includes. */
const maxExpandedEntries = 100_000;
/** Deeper nesting than this is a cycle in practice (the same file under different spellings). */
const maxIncludeDepth = 64;

/** Nix's rule for a store URI without a scheme (machines.cc, `Machine::Machine`). */
export function storeUriAsNixReadsIt(text: string): string {
  const keptAsIs =
    text.includes('://') ||
    text.includes('/') ||
    ['auto', 'daemon', 'local'].includes(text) ||
    ['auto?', 'daemon?', 'local?', '?'].some((prefix) => text.startsWith(prefix));
  return keptAsIs ? text : `ssh://${text}`;
}

/** Reads a builders text as Nix does. Never throws. */
export function parseBuilders(text: string, rules: VersionRules, options: ParseBuildersOptions = {}): ParsedBuilders {
  if (options.lines !== undefined) return options.lines.parse(text, rules, options);
  const expansion = new Expansion(rules, options);
  expansion.expand(text, topLevel, options.path === undefined ? [] : [options.path]);
  const machines: Machine[] = [];
  const rowProblems: Problem[] = [];
  for (const entry of expansion.entries) {
    const { machine, problems } = readEntry(entry, rules, options.localSystem);
    if (machine !== undefined) machines.push(machine);
    for (const p of problems) rowProblems.push(p);
  }
  return {
    entries: expansion.entries,
    machines,
    includes: expansion.includes,
    problems: [...expansion.problems, ...rowProblems],
  };
}

const topLevel: EntryOrigin = { file: undefined, includedVia: undefined };

/**
 * One line of the parsed text read on its own, its spans counted from the line's start (so the
 * reading holds wherever the line moves: lineMemo.ts); undefined when the line has an `@file`,
 * whose reading depends on files and is never kept.
 */
export function readLine(line: string, rules: VersionRules, localSystem: string | undefined): LineEntry[] | undefined {
  const raws: RawEntry[] = [];
  splitLine(line, 0, rules, raws);
  if (raws.some((raw) => raw.kind === 'include')) return undefined;
  return raws.map((raw) => readRaw(raw, rules, localSystem));
}

function readRaw(raw: RawEntry, rules: VersionRules, localSystem: string | undefined): LineEntry {
  const entry: BuildersEntry = { kind: raw.kind, text: raw.piece.text, span: raw.piece.span, ...topLevel };
  return { entry, machine: undefined, ...readEntry(entry, rules, localSystem) };
}

/**
 * The lines with an `@file` of a text read line by line (lineMemo.ts), each read again on every
 * parse: one expansion for all of them, so each file is read once and the limit counts them all.
 */
export class IncludeLines {
  private readonly expansion: Expansion;
  private readonly stack: string[];

  constructor(
    private readonly rules: VersionRules,
    private readonly options: ParseBuildersOptions,
  ) {
    this.expansion = new Expansion(rules, options);
    this.stack = options.path === undefined ? [] : [options.path];
  }

  /** The line's entries, then those its files bring, read, with spans in the parsed text. */
  read(line: string, start: number): LineEntry[] {
    const from = this.expansion.entries.length;
    const raws: RawEntry[] = [];
    splitLine(line, start, this.rules, raws);
    for (const raw of raws) this.expansion.expandEntry(raw, topLevel, this.stack);
    return this.expansion.entries.slice(from).map((entry) => ({
      entry,
      machine: undefined,
      ...readEntry(entry, this.rules, this.options.localSystem),
    }));
  }

  get includes(): BuildersInclude[] {
    return this.expansion.includes;
  }

  /** The includes' own problems (Nix expands every include before it reads a machine). */
  get problems(): Problem[] {
    return this.expansion.problems;
  }
}

/** Step 2 for one entry: its machine and the parser's errors about it. */
function readEntry(
  entry: BuildersEntry,
  rules: VersionRules,
  localSystem: string | undefined,
): { machine?: Machine; problems: Problem[] } {
  if (entry.kind === 'blank' && !rules.splitLinesFirst) return { problems: [blankEntryProblem(entry)] };
  if (entry.kind !== 'machine') return { problems: [] };
  return readMachine(entry, rules, localSystem);
}

/** What reading an `@file` gave. */
type IncludedFile = { text: string } | { missing: true } | { error: string } | { notRead: NotReadReason };

/** Step 1: split into entries and expand includes (Nix's `expandBuilderLines`). */
class Expansion {
  readonly entries: BuildersEntry[] = [];
  readonly includes: BuildersInclude[] = [];
  readonly problems: Problem[] = [];
  /** Each file is read once per parse, however often it is included. */
  private readonly files = new Map<string, IncludedFile>();
  private expandedFromIncludes = 0;
  private limitReported = false;

  constructor(
    private readonly rules: VersionRules,
    private readonly options: ParseBuildersOptions,
  ) {}

  expand(text: string, origin: EntryOrigin, stack: string[]): void {
    for (const raw of splitEntries(text, this.rules)) this.expandEntry(raw, origin, stack);
  }

  expandEntry(raw: RawEntry, origin: EntryOrigin, stack: string[]): void {
    const entry: BuildersEntry = { kind: raw.kind, text: raw.piece.text, span: raw.piece.span, ...origin };
    this.entries.push(entry);
    if (origin.file !== undefined) this.expandedFromIncludes++;
    if (raw.kind === 'include') this.include(raw.piece, raw.path!, origin, stack);
  }

  private include(entry: Piece, path: Piece, origin: EntryOrigin, stack: string[]): void {
    const include: BuildersInclude = {
      path: path.text,
      pathSpan: path.span,
      span: entry.span,
      status: 'not-read',
      ...origin,
    };
    this.includes.push(include);
    const place = (p: Problem) => placeInOrigin(p, origin);

    if (this.options.readFile === undefined) return;
    if (this.expandedFromIncludes >= maxExpandedEntries) {
      if (!this.limitReported) {
        this.limitReported = true;
        this.problems.push(
          place(
            problem(
              'include-expansion-limit',
              entry.span,
              `The included files expand to more than ${maxExpandedEntries} entries; the rest is not checked. Include each machines file once.`,
            ),
          ),
        );
      }
      return;
    }
    if (stack.includes(path.text) || stack.length >= maxIncludeDepth) {
      include.status = 'cycle';
      const nixMessage = 'stack overflow (possible infinite recursion)';
      this.problems.push(
        place(
          problem(
            'include-cycle',
            entry.span,
            `'${path.text}' includes itself (through ${[...stack, path.text].join(' → ')}): Nix fails with "${nixMessage}". Remove the @ line that leads back.`,
            nixMessage,
          ),
        ),
      );
      return;
    }

    const file = this.read(path.text);
    if ('missing' in file) {
      include.status = 'missing';
      return;
    }
    if ('notRead' in file) {
      include.status = file.notRead.kind;
      const advice = file.notRead.kind === 'not-a-file' ? ' Point @ at a machines file.' : '';
      this.problems.push(
        place(
          problem(
            file.notRead.kind === 'not-a-file' ? 'include-not-a-file' : 'include-too-large',
            entry.span,
            `${notReadMessage(path.text, file.notRead)}${advice}`,
          ),
        ),
      );
      return;
    }
    if ('error' in file) {
      include.status = 'unreadable';
      this.problems.push(
        place(
          problem(
            'include-unreadable',
            entry.span,
            `Nix cannot read '${path.text}': "${file.error}". Point @ at a readable machines file, or remove this line.`,
            file.error,
          ),
        ),
      );
      return;
    }
    include.status = 'read';
    // Everything from the file (and the files it includes) leads back to the top-level `@file`.
    const includedVia = origin.includedVia ?? entry.span;
    this.expand(file.text, { file: path.text, includedVia }, [...stack, path.text]);
  }

  private read(path: string): IncludedFile {
    let file = this.files.get(path);
    if (file === undefined && path === '') file = { missing: true }; // Nix: open("") is ENOENT
    if (file === undefined) {
      try {
        const text = this.options.readFile!(path);
        file = typeof text === 'string' ? { text } : { missing: true };
      } catch (e) {
        file =
          e instanceof FileNotRead
            ? { notRead: e.reason }
            : { error: inNixWords(e instanceof Error ? e.message : String(e), this.rules) };
      }
      this.files.set(path, file);
    }
    return file;
  }
}

interface RawEntry {
  kind: EntryKind;
  piece: Piece;
  /** For an include: the path after `@`, trimmed. */
  path?: Piece;
}

/** How one builders text splits into entries: the one place where the version rule applies. */
function splitEntries(text: string, rules: VersionRules): RawEntry[] {
  const result: RawEntry[] = [];
  // Both rules split on newlines first in effect: before 2.29 Nix splits on `\n` and `;` at
  // once, which gives the same pieces as lines split on `;`. An empty line has no entry.
  for (const line of tokenize(text, '\n')) splitLine(line.text, line.span.start, rules, result);
  return result;
}

/** The entries of one line (without its newline) starting at `offset`, added to `result`. */
function splitLine(text: string, offset: number, rules: VersionRules, result: RawEntry[]): void {
  const push = (entry: Piece) => {
    if (entry.text.startsWith('@')) result.push({ kind: 'include', piece: entry, path: trimPiece(subPiece(entry, 1)) });
    else if (isBlank(entry.text)) result.push({ kind: 'blank', piece: entry });
    else result.push({ kind: 'machine', piece: entry });
  };
  if (text === '') return;
  const line: Piece = { text, span: { start: offset, end: offset + text.length } };
  if (!text.includes(';') && !text.includes('#')) {
    // Most lines: one entry and no comment, so neither split allocates anything.
    if (!rules.splitLinesFirst) push(line);
    else {
      const entry = trimPiece(line);
      if (entry.text === '') result.push({ kind: 'blank', piece: line });
      else push(entry);
    }
    return;
  }
  if (rules.splitLinesFirst) {
    // Nix ≥ 2.29: lines, then `#` to the end of the line, then `;`, each entry trimmed.
    const { body, comment } = cutComment(line);
    for (const piece of tokenize(body.text, ';', body.span.start)) {
      const entry = trimPiece(piece);
      if (entry.text === '') result.push({ kind: 'blank', piece });
      else push(entry);
    }
    if (comment !== undefined) result.push({ kind: 'comment', piece: comment });
  } else {
    // Nix 2.8: one split on `\n` and `;`; `#` cuts to the end of that entry only; nothing is
    // trimmed (Nix calls `trim(line)` and drops the result), so `@` counts only at the very
    // start, ` #c` leaves an entry of one space, and an entry of spaces is a row without a
    // store URI.
    for (const piece of tokenize(text, ';', offset)) {
      const { body, comment } = cutComment(piece);
      if (body.text !== '') push(body);
      if (comment !== undefined) result.push({ kind: 'comment', piece: comment });
    }
  }
}

/** Nix erases from the first `#` of a piece, wherever it is. */
function cutComment(piece: Piece): { body: Piece; comment?: Piece } {
  const hash = piece.text.indexOf('#');
  if (hash < 0) return { body: piece };
  return { body: subPiece(piece, 0, hash), comment: subPiece(piece, hash) };
}

/** Step 2: the columns of one machine entry (Nix's `parseBuilderLine`). */
function readMachine(
  entry: BuildersEntry,
  rules: VersionRules,
  localSystem: string | undefined,
): { machine?: Machine; problems: Problem[] } {
  const row = entry.text;
  const columns = columnsOf(row, entry.span.start);
  const problems: Problem[] = [];
  const report = (p: Problem) => problems.push(placeInOrigin(p, entry));
  const isSet = (i: number) => columns[i]?.isSet === true;

  const storeUriColumn = columns[0];
  if (storeUriColumn === undefined || !storeUriColumn.isSet) {
    // A blank entry never gets here (it has no columns); only `-` does.
    const span = storeUriColumn?.span ?? entry.span;
    report(
      problem(
        'store-uri-missing',
        span,
        `Nix rejects this entry: "${storeUriMessage(row)}". Put the builder's store URI first, e.g. ssh://user@host ('-' is not allowed in this column).`,
        storeUriMessage(row),
      ),
    );
    return { problems };
  }

  const machineColumns: MachineColumns = { storeUri: storeUriColumn };
  for (let i = 1; i < columns.length && i < columnNames.length; i++) machineColumns[columnNames[i]!] = columns[i]!;

  // Nix reads the columns in this order and stops at the first failure; we report them all.
  let maxJobs = 1;
  if (isSet(3)) {
    const value = readUnsignedInt(columns[3]!.text);
    if (value === undefined) {
      const nixMessage = convertMessage(3, row, 'unsigned int');
      report(
        problem(
          'max-jobs-not-integer',
          columns[3]!.span,
          `Nix rejects this entry: "${nixMessage}". maxJobs (column 4) must be a whole number of 0 or more, such as 4, or '-' for 1.`,
          nixMessage,
        ),
      );
    } else {
      maxJobs = value;
    }
  }

  let speedFactor = 1;
  let negativeSpeed = false;
  if (isSet(4)) {
    const text = columns[4]!.text;
    const value = rules.speedFactorIsFloat ? readFloat(text) : readUnsignedInt(text);
    if (value === undefined) {
      const type = rules.speedFactorIsFloat ? 'float' : 'unsigned int';
      const nixMessage = convertMessage(4, row, type);
      const advice = rules.speedFactorIsFloat
        ? "speedFactor (column 5) must be a number of 0 or more, such as 2 or 1.5, or '-' for 1."
        : "speedFactor (column 5) must be a whole number of 0 or more on this Nix (fractions such as 1.5 need Nix 2.20), or '-' for 1.";
      report(
        problem(
          'speed-factor-invalid',
          columns[4]!.span,
          `Nix rejects this entry: "${nixMessage}". ${advice}`,
          nixMessage,
        ),
      );
    } else if (value < 0) {
      negativeSpeed = true; // Nix checks this last, after the host key (in the Machine constructor).
    } else {
      speedFactor = value === 0 ? 1 : value;
    }
  }

  if (isSet(7)) {
    const refusal = base64Refusal(columns[7]!.text);
    if (refusal !== undefined) {
      // Nix prints '' where the character should be, on every version we ran (2.8, 2.26, 2.34).
      const invalid = "invalid character in Base64 string: ''";
      const trace = `while parsing machine specification at a column #7 in a row: '${row}'`;
      const nixMessage = rules.base64ErrorHasTrace
        ? invalid
        : `bad machine specification: a column #7 in a row: '${row}' is not valid base64 string: error: ${invalid}`;
      const found = problem(
        'host-key-not-base64',
        columns[7]!.span,
        `Nix rejects this entry: "${rules.base64ErrorHasTrace ? `${invalid}, ${trace}` : nixMessage}" (the character '${refusal.character}' is not base64). Put the output of \`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub\` (run on the builder) here, or '-'.`,
        nixMessage,
      );
      if (rules.base64ErrorHasTrace) found.nixTrace = [trace];
      report(found);
    }
  }

  // Nix 2.23+: the Machine constructor parses the store URI, after the columns, before the speed check.
  const storeUri = storeUriAsNixReadsIt(storeUriColumn.text);
  const storeUriError = storeReferenceError(storeUri, rules);
  if (storeUriError !== undefined) {
    report(
      problem(
        'store-uri-not-a-url',
        storeUriColumn.span,
        `Nix rejects this entry, and with it every builder of the list: "${storeUriError}". Write column 1 as a URL: ssh://user@host or ssh-ng://user@host, with only ASCII letters, digits and -._~ in the host name (percent-encode anything else in a parameter, e.g. %20 for a space).`,
        storeUriError,
      ),
    );
  }

  if (negativeSpeed) {
    const nixMessage = 'speed factor must be >= 0';
    report(
      problem(
        'speed-factor-invalid',
        columns[4]!.span,
        `Nix rejects this entry: "${nixMessage}". Use a speedFactor of 0 or more, or '-' for 1.`,
        nixMessage,
      ),
    );
  }

  const machine: Machine = {
    row,
    rowSpan: entry.span,
    file: entry.file,
    includedVia: entry.includedVia,
    columns: machineColumns,
    extraColumns: columns.slice(8),
    storeUri,
    systems: systemsOf(columns[1], rules, localSystem),
    usesLocalSystem: !isSet(1),
    sshKey: isSet(2) ? columns[2]!.text : undefined,
    maxJobs,
    speedFactor,
    supportedFeatures: isSet(5) ? commaSet(columns[5]!.text) : [],
    mandatoryFeatures: isSet(6) ? commaSet(columns[6]!.text) : [],
    publicHostKey: isSet(7) ? columns[7]!.text : undefined,
    valid: problems.length === 0,
  };
  return { machine, problems };
}

/** Column 2 as Nix keeps it (a list, or from 2.20 a set); unset, the local system (none when not known). */
export function systemsOf(column: Column | undefined, rules: VersionRules, localSystem: string | undefined): string[] {
  if (column?.isSet === true) return (rules.systemsAreASet ? commaSet : commaList)(column.text);
  return localSystem === undefined ? [] : [localSystem];
}

/**
 * The whitespace-separated columns of a row (Nix's `tokenizeString`), made as columns at once:
 * this runs for every column of every machine, and pieces copied into columns were a tenth of it.
 */
function columnsOf(row: string, offset: number): Column[] {
  const columns: Column[] = [];
  let start = -1;
  for (let i = 0; i <= row.length; i++) {
    const code = i === row.length ? 32 : row.charCodeAt(i);
    if (code === 32 || code === 9 || code === 10 || code === 13) {
      if (start >= 0) {
        const text = row.slice(start, i);
        columns.push({ text, span: { start: offset + start, end: offset + i }, isSet: text !== '-' });
      }
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return columns;
}

function storeUriMessage(row: string): string {
  return `bad machine specification: store URL was not found at the first column of a row: '${row}'`;
}

function convertMessage(column: number, row: string, type: string): string {
  return `bad machine specification: failed to convert column #${column} in a row: '${row}' to '${type}'`;
}

/** An entry of only whitespace: Nix before 2.29 reads it as a row with no store URI. */
function blankEntryProblem(entry: BuildersEntry): Problem {
  const nixMessage = storeUriMessage(entry.text);
  return placeInOrigin(
    problem(
      'empty-entry',
      entry.span,
      `Nix rejects an entry of only spaces: "${nixMessage}". Remove the extra ';' or the spaces between separators (Nix 2.29 and later skip such entries).`,
      nixMessage,
    ),
    entry,
  );
}

/** A problem in an included file is shown on the `@file` of the parsed text that led to it. */
export function placeInOrigin(p: Problem, origin: EntryOrigin): Problem {
  if (origin.file === undefined || origin.includedVia === undefined) return p;
  return {
    ...p,
    span: origin.includedVia,
    file: origin.file,
    fileSpan: p.span,
    message: `In ${origin.file}: ${p.message}`,
  };
}

/**
 * `readFile` throws Nix 2.8's words; the one read error whose wording changed since (a
 * directory, which opens but cannot be read) is put in the targeted version's.
 */
function inNixWords(message: string, rules: VersionRules): string {
  return message === 'reading from file: Is a directory' && rules.readErrorNamesBytes
    ? 'read of 65536 bytes: Is a directory'
    : message;
}
