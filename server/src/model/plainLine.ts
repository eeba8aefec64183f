// The common machines line, recognised without reading it: `ssh://nix@host x86_64-linux /key 4 1
// kvm - c3No…`, one builder Nix takes and nothing to warn about but what its SSH key file may
// hold. Opening a 10 000-machine file reads every line; building each line's entry, machine,
// columns and spans only to find nothing wrong was most of the time (and of the garbage). Such a
// line is kept as its text, where its store URI is and the URI's hash (what the duplicates check
// needs); its machine is made from the columns it is known to have when someone asks for it
// (`plainEntry`, the same as the full rule's in machines.ts). Every condition below is what the
// full rule and the lints give for the characters allowed, and is held against them over
// generated lines on each rule set by test/unit/plain-line.test.ts: whatever is not surely plain
// goes the full way.
import { knownSystems } from './systems';
import { hostKeyReading } from './lint/hostKeyReading';
import { commonFeatures } from './lint/columns';
import { columnNames, systemsOf, type BuildersEntry, type Column, type Machine, type MachineColumns } from './machines';
import type { LineEntry } from './lineMemo';
import type { VersionRules } from './nixVersion';
import { commaSet, readFloat, readUnsignedInt } from './nixStrings';

/** A plain line: where its store URI is and its hash, and, when column 3 is set, where the key is (all from the line's start). */
export interface PlainMachine {
  /** Column 1. */
  uriStart: number;
  uriEnd: number;
  /** Column 1 has no scheme: Nix reads it with `ssh://` in front. */
  bare: boolean;
  /** `storeUriHash` of the store URI as Nix reads it, worked out while the column was looked at. */
  uriHash: number;
  /** Column 3; -1 when it is `-` or absent. */
  keyStart: number;
  keyEnd: number;
}

/** The store URI Nix reads from a plain line (sliced only when asked: most are never needed as text). */
export function plainStoreUri(line: string, plain: PlainMachine): string {
  const text = line.slice(plain.uriStart, plain.uriEnd);
  return plain.bare ? `ssh://${text}` : text;
}

/**
 * A hash of a store URI (FNV-1a over its UTF-16 units), for finding the same URI twice without
 * a string per machine: `from`/`to` hash part of a text, `seed` continues a hash.
 */
export function storeUriHash(text: string, from = 0, to = text.length, seed = fnvOffset): number {
  let hash = seed;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ text.charCodeAt(i), fnvPrime);
  return hash;
}

const fnvOffset = 0x811c9dc5 | 0;
const fnvPrime = 16777619;
const sshPrefixHash = storeUriHash('ssh://');
const sshNgPrefixHash = storeUriHash('ssh-ng://');

/** The features a plain line may list: the well-known ones exactly (any other is looked at by the lints). */
const plainFeatures: ReadonlySet<string> = new Set(commonFeatures);

/** Column starts and ends of the line being looked at (at most 8 columns): no array per line. */
const bounds = new Int32Array(16);

const isAlnum = (code: number) =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
/** `[A-Za-z0-9._-]`: what a user or host name is made of here (nothing to percent-encode, nothing ssh reads as an option). */
const isNameChar = (code: number) => isAlnum(code) || code === 46 || code === 95 || code === 45;

/**
 * The line's machine when the line is plain: a single entry (no `;`, `#` or `@`), at most eight
 * columns, and each column one of: (1) `ssh://` or `ssh-ng://` then `[user@]host`, or a bare
 * `[user@]host` other than auto/daemon/local, names of `[A-Za-z0-9._-]` starting with a letter,
 * digit or `_`; (2) `-` or known systems; (3) `-` or an absolute path; (4, 5) `-` or a whole
 * number from 1 without leading zeros, up to nine digits; (6) `-` or well-known features;
 * (7) `-`; (8) `-` or base64 of a public key line. Undefined for anything else.
 */
export function plainMachine(line: string): PlainMachine | undefined {
  return readPlain(line) ? { ...plainRead } : undefined;
}

/** What the last `readPlain` that said true found (copied by the caller: one object less per line). */
export const plainRead: PlainMachine = { uriStart: 0, uriEnd: 0, bare: false, uriHash: 0, keyStart: -1, keyEnd: -1 };

/** `plainMachine` without an object: true when the line is plain, then `plainRead` says what it found. */
export function readPlain(line: string): boolean {
  const count = columnBounds(line);
  if (count === 0) return false;
  const uriStart = bounds[0]!;
  const uriEnd = bounds[1]!;
  if (!plainUri(line, uriStart, uriEnd)) return false;
  let keyStart = -1;
  let keyEnd = -1;
  for (let column = 1; column < count; column++) {
    const from = bounds[2 * column]!;
    const to = bounds[2 * column + 1]!;
    if (to - from === 1 && line.charCodeAt(from) === 45) continue; // `-`
    switch (column) {
      case 1:
        if (!allIn(line, from, to, knownSystems)) return false;
        break;
      case 2:
        if (line.charCodeAt(from) !== 47) return false; // not absolute
        keyStart = from;
        keyEnd = to;
        break;
      case 3:
      case 4:
        if (!plainNumber(line, from, to)) return false;
        break;
      case 5:
        if (!allIn(line, from, to, plainFeatures)) return false;
        break;
      case 6:
        return false; // mandatory features: said about
      case 7:
        if (!plainHostKey(line.slice(from, to))) return false;
        break;
    }
  }
  plainRead.uriStart = uriStart;
  plainRead.uriEnd = uriEnd;
  plainRead.keyStart = keyStart;
  plainRead.keyEnd = keyEnd;
  return true;
}

/**
 * The entry of a plain line, exactly as the full rule reads it (machines.ts' `readLine`, then moved by `offset`), made
 * without the checks the line is known to pass: when a feature asks for the machines of a
 * 10 000-machine file, reading them all again the full way was most of the time.
 */
export function plainEntry(
  line: string,
  plain: PlainMachine,
  rules: VersionRules,
  localSystem: string | undefined,
  /** Where the line starts: every span is moved by it. */
  offset = 0,
): LineEntry {
  // The entry: before 2.29 the whole line, from 2.29 trimmed (Nix's whitespace).
  let start = 0;
  let end = line.length;
  if (rules.splitLinesFirst) {
    while (isWhitespace(line.charCodeAt(start))) start++;
    while (isWhitespace(line.charCodeAt(end - 1))) end--;
  }
  const row = start === 0 && end === line.length ? line : line.slice(start, end);
  const span = { start: offset + start, end: offset + end };
  const entry: BuildersEntry = { kind: 'machine', text: row, span, file: undefined, includedVia: undefined };
  const count = columnBounds(line);
  const columns: Column[] = [];
  for (let i = 0; i < count; i++) {
    const text = line.slice(bounds[2 * i]!, bounds[2 * i + 1]!);
    columns.push({
      text,
      span: { start: offset + bounds[2 * i]!, end: offset + bounds[2 * i + 1]! },
      isSet: text !== '-',
    });
  }
  const machineColumns: MachineColumns = { storeUri: columns[0]! };
  for (let i = 1; i < count; i++) machineColumns[columnNames[i]!] = columns[i]!;
  const set = (i: number) => columns[i]?.isSet === true;
  const speed = set(4) ? (rules.speedFactorIsFloat ? readFloat : readUnsignedInt)(columns[4]!.text)! : 1;
  const machine: Machine = {
    row,
    rowSpan: span,
    file: undefined,
    includedVia: undefined,
    columns: machineColumns,
    extraColumns: [],
    storeUri: plainStoreUri(line, plain),
    systems: systemsOf(columns[1], rules, localSystem),
    usesLocalSystem: !set(1),
    sshKey: set(2) ? columns[2]!.text : undefined,
    maxJobs: set(3) ? readUnsignedInt(columns[3]!.text)! : 1,
    speedFactor: speed === 0 ? 1 : speed,
    supportedFeatures: set(5) ? commaSet(columns[5]!.text) : [],
    mandatoryFeatures: [],
    publicHostKey: set(7) ? columns[7]!.text : undefined,
    valid: true,
  };
  return { entry, machine, problems: [] };
}

const isWhitespace = (code: number) => code === 32 || code === 9 || code === 13 || code === 10;

/**
 * The columns' bounds into `bounds` (their count), or 0 when the line is not plain in its
 * separators: a `;`, a `#`, or more than eight columns. Nix splits columns on space, tab, CR and
 * LF; most lines have spaces only (a CR at the end, from a CRLF file), found by indexOf (native,
 * several times faster than a loop over the characters here).
 */
function columnBounds(line: string): number {
  if (line.indexOf(';') >= 0 || line.indexOf('#') >= 0) return 0;
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
  const cr = line.indexOf('\r');
  if (line.indexOf('\t') >= 0 || (cr >= 0 && cr < end)) return columnsByCharacter(line);
  let count = 0;
  let i = 0;
  for (;;) {
    while (i < end && line.charCodeAt(i) === 32) i++;
    if (i === end) return count;
    if (count === 8) return 0; // a ninth column
    let next = line.indexOf(' ', i);
    if (next < 0 || next > end) next = end;
    bounds[2 * count] = i;
    bounds[2 * count + 1] = next;
    count++;
    i = next;
  }
}

/** `columnBounds` of a line with other separators than spaces (and no `;` or `#`). */
function columnsByCharacter(line: string): number {
  let count = 0;
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const code = i === line.length ? 32 : line.charCodeAt(i);
    if (code === 32 || code === 9 || code === 13 || code === 10) {
      if (start >= 0) {
        if (count === 8) return 0; // a ninth column
        bounds[2 * count] = start;
        bounds[2 * count + 1] = i;
        count++;
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  return count;
}

/**
 * True when column 1 is a plain `[ssh://|ssh-ng://][user@]host`; then `plainRead.bare` says it
 * has no scheme, and `plainRead.uriHash` is the hash of the store URI Nix reads (hashed on the way).
 */
function plainUri(line: string, from: number, to: number): boolean {
  let at = from;
  let hash = sshPrefixHash; // a bare host: Nix puts ssh:// in front
  let scheme = false;
  if (line.startsWith('ssh://', from)) {
    at += 6;
    scheme = true;
  } else if (line.startsWith('ssh-ng://', from)) {
    at += 9;
    hash = sshNgPrefixHash;
    scheme = true;
  }
  let nameStart = at;
  let users = 0;
  for (let i = at; i < to; i++) {
    const code = line.charCodeAt(i);
    if (code === 64) {
      // `@`: the user name ends here; it must be a name of its own, and only one `@`.
      if (users++ > 0 || !plainName(line, nameStart, i)) return false;
      nameStart = i + 1;
    } else if (!isNameChar(code)) {
      return false;
    }
    hash = Math.imul(hash ^ code, fnvPrime);
  }
  if (!plainName(line, nameStart, to)) return false;
  // Nix keeps these as they are: stores on this machine.
  if (!scheme)
    for (const local of ['auto', 'daemon', 'local'])
      if (to - from === local.length && line.startsWith(local, from)) return false;
  plainRead.bare = !scheme;
  plainRead.uriHash = hash;
  return true;
}

/** A user or host name: not empty, starting with a letter, a digit or `_` (the rest was checked by the caller). */
function plainName(line: string, from: number, to: number): boolean {
  if (from >= to) return false;
  const code = line.charCodeAt(from);
  return isAlnum(code) || code === 95;
}

/** `[1-9][0-9]{0,8}`. */
function plainNumber(line: string, from: number, to: number): boolean {
  if (to - from > 9) return false;
  const first = line.charCodeAt(from);
  if (first < 49 || first > 57) return false;
  for (let i = from + 1; i < to; i++) {
    const code = line.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** Every comma-separated item is in `known`, and no item is empty. */
function allIn(line: string, from: number, to: number, known: ReadonlySet<string>): boolean {
  let itemStart = from;
  for (let i = from; i <= to; i++) {
    if (i < to && line.charCodeAt(i) !== 44) continue;
    if (i === itemStart || !known.has(line.slice(itemStart, i))) return false;
    itemStart = i + 1;
  }
  return true;
}

/** What `plainHostKey` found for a text (the same key is often on several lines, and decoding one is costly). */
const hostKeys = new Map<string, boolean>();
/** Enough for every key of a large file; past it the memo starts again (bounded memory). */
const maxKept = 20_000;

/** Nix's base64 alphabet up to the first `=` (no newline can be in a column), decoding to a key line. */
function plainHostKey(text: string): boolean {
  let plain = hostKeys.get(text);
  if (plain === undefined) {
    plain = base64Alphabet(text) && hostKeyReading(text).kind === 'key-line';
    if (hostKeys.size >= maxKept) hostKeys.clear();
    hostKeys.set(text, plain);
  }
  return plain;
}

function base64Alphabet(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 61) break; // `=`: Nix stops looking
    if (!(isAlnum(code) || code === 43 || code === 47)) return false;
  }
  return true;
}
