// Formatting that never changes what Nix reads. A machines file becomes a table: each line that
// holds exactly one machine has its columns padded to the widest of the document, two spaces
// apart, with its comment kept after one space; a `# URI systems …` header comment is aligned
// with the columns it names (it starts the line, so Nix reads the whole line as a comment). Lines whose meaning could change with their whitespace are left
// exactly as they are: lines with `;` (Nix 2.8 ends a `#` comment at `;`), `@file` lines, comment
// and blank lines (an entry of spaces before `#` is an error on Nix 2.8). Only whitespace between
// columns changes, and Nix splits columns on any whitespace, so the columns stay the same.
// In nix.conf, Nix re-joins a line's tokens with single spaces before it reads the value: setting
// and include lines get single spaces (`name = value # comment`), their tokens untouched.
import { nixWhitespace, tokenize, type Piece } from '../model/nixStrings';

/** A replacement in the text, as offsets. */
export interface TextChange {
  start: number;
  end: number;
  newText: string;
}

interface Line {
  /** From the line's first character to before its `\r\n` / `\n` (a final `\r` stays out). */
  start: number;
  end: number;
}

function linesOf(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (;;) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    lines.push({ start, end: end > start && text[end - 1] === '\r' ? end - 1 : end });
    if (newline < 0) return lines;
    start = newline + 1;
  }
}

const width = (s: string) => [...s].length;

/** Between two columns: one space lets `4 1` (maxJobs, speedFactor) read as one value. */
const gap = '  ';

interface Row {
  line: Line;
  columns: string[];
  comment: string | undefined;
  /** A `# URI systems …` comment naming the columns: aligned with them, the whole line a comment. */
  header: boolean;
}

/** A line that is one machine entry and nothing Nix could read differently; else undefined. */
function machineRow(text: string, line: Line): Row | undefined {
  const content = text.slice(line.start, line.end);
  if (content.includes(';')) return undefined;
  const hash = content.indexOf('#');
  const body = hash < 0 ? content : content.slice(0, hash);
  const columns = tokenize(body, nixWhitespace).map((p) => p.text);
  if (columns.length === 0) return hash === 0 ? headerRow(content, line) : undefined;
  if (columns[0]!.startsWith('@')) return undefined;
  return { line, columns, comment: hash < 0 ? undefined : content.slice(hash), header: false };
}

/** Words a header comment names the columns with (newMachinesFileText's, and their usual variants). */
const headerWords = new Set([
  'uri',
  'store',
  'host',
  'machine',
  'builder',
  'systems',
  'system',
  'platforms',
  'key',
  'sshkey',
  'ssh-key',
  'identity',
  'maxjobs',
  'jobs',
  'max-jobs',
  'speedfactor',
  'speed',
  'speed-factor',
  'features',
  'supportedfeatures',
  'supported',
  'mandatoryfeatures',
  'mandatory',
  'hostkey',
  'host-key',
  'publichostkey',
  'hostkey',
  'sshkey',
  'publickey',
]);

/**
 * A comment at the start of a line (so the whole line is one: no entry of spaces before it)
 * whose words mostly name columns: its words line up with the columns below.
 */
function headerRow(content: string, line: Line): Row | undefined {
  const lead = /^#[ \t]*/.exec(content)![0];
  const words: string[] = [];
  for (const word of tokenize(content.slice(lead.length), nixWhitespace).map((p) => p.text)) {
    // `host key`, `ssh key`: one column's name in two words, kept one cell.
    const previous = words[words.length - 1];
    if (/^key$/i.test(word) && previous !== undefined && /^(host|ssh|public)$/i.test(previous))
      words[words.length - 1] = `${previous} ${word}`;
    else words.push(word);
  }
  if (words.length < 3 || words.length > 8) return undefined;
  const named = words.filter((w) => headerWords.has(w.toLowerCase().replace(/[^a-z-]/g, ''))).length;
  if (named * 2 < words.length) return undefined;
  const first = `${lead.length > 1 ? '# ' : '#'}${words[0]}`;
  return { line, columns: [first, ...words.slice(1)], comment: undefined, header: true };
}

function tableRows(text: string): Row[] {
  return linesOf(text)
    .map((line) => machineRow(text, line))
    .filter((row): row is Row => row !== undefined);
}

function formatRow(row: Row, widths: number[]): string {
  const cells = row.columns.map((column, i) =>
    i < row.columns.length - 1 ? column + ' '.repeat((widths[i] ?? 0) - width(column)) : column,
  );
  return cells.join(gap) + (row.comment === undefined ? '' : ` ${row.comment}`);
}

function columnWidths(rows: Row[]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.columns.forEach((column, i) => (widths[i] = Math.max(widths[i] ?? 0, width(column))));
  }
  return widths;
}

/**
 * The changes that format a machines file; with `range` (offsets), only lines that overlap it
 * change, aligned as the whole document would be.
 */
export function formatMachines(text: string, range?: { start: number; end: number }): TextChange[] {
  const rows = tableRows(text);
  const widths = columnWidths(rows);
  const changes: TextChange[] = [];
  for (const row of rows) {
    if (range && (row.line.end < range.start || row.line.start > range.end)) continue;
    pushIfChanged(changes, text, row.line, formatRow(row, widths));
  }
  return changes;
}

/**
 * Where the machines file already is an aligned table (two rows or more, a header counting):
 * the offsets of its lines' starts. Inlay hints stay off there, since a hint is text the editor
 * draws inside the line and would push the columns after it out of line.
 */
export function alignedTableLines(text: string): Set<number> {
  const rows = tableRows(text);
  const widths = columnWidths(rows);
  if (rows.length < 2) return new Set();
  return new Set(
    rows
      .filter((row) => text.slice(row.line.start, row.line.end) === formatRow(row, widths))
      .map((row) => row.line.start),
  );
}

function pushIfChanged(changes: TextChange[], text: string, line: Line, formatted: string): void {
  if (text.slice(line.start, line.end) !== formatted)
    changes.push({ start: line.start, end: line.end, newText: formatted });
}

/** The changes that format a nix.conf (optionally only the lines overlapping `range`). */
export function formatNixConf(text: string, range?: { start: number; end: number }): TextChange[] {
  const changes: TextChange[] = [];
  for (const line of linesOf(text)) {
    if (range && (line.end < range.start || line.start > range.end)) continue;
    const content = text.slice(line.start, line.end);
    const hash = content.indexOf('#');
    const body = hash < 0 ? content : content.slice(0, hash);
    const tokens: Piece[] = tokenize(body, nixWhitespace);
    if (tokens.length < 2) continue; // blank, comment, or a line Nix rejects: as it is
    const words = tokens.map((t) => t.text);
    const isInclude = (words[0] === 'include' || words[0] === '!include') && words.length === 2;
    const isSetting = words[1] === '=';
    if (!isInclude && !isSetting) continue;
    const formatted = words.join(' ') + (hash < 0 ? '' : ` ${content.slice(hash)}`);
    pushIfChanged(changes, text, line, formatted);
  }
  return changes;
}
