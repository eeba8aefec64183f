// Where the cursor is in a machines file or a nix.conf, as Nix would split the text: in a
// comment, on a setting name, after `@`, or in column N of a machine entry. Completion works on
// text that is still being typed, so this reads the raw text around the cursor with the
// targeted Nix's splitting rules instead of the parse (which has no entry for an empty line).
import type { VersionRules } from '../model/nixVersion';
import { isBlank, nixWhitespace, tokenize, type Piece } from '../model/nixStrings';
import type { Span } from '../model/problem';

export type CursorPlace =
  | { kind: 'nothing' }
  | { kind: 'comment' }
  /** nix.conf: on (or before typing) a setting name. */
  | { kind: 'conf-name'; token: Piece }
  /** nix.conf: in the value of a setting other than `builders`. */
  | { kind: 'conf-value'; name: string }
  /** After the `@` of an include: `path` is what follows it. */
  | { kind: 'include'; path: Piece; inConf: boolean }
  | ColumnPlace;

export interface ColumnPlace {
  kind: 'column';
  /** 0-based column index (8 and more are the columns Nix ignores). */
  index: number;
  /** The column under the cursor, or an empty piece at the cursor between columns. */
  token: Piece;
  /** Every column of the entry (without its comment). */
  tokens: Piece[];
  /** The entry, without its comment. */
  entry: Span;
  /** True in the `builders` value of a nix.conf. */
  inConf: boolean;
  /**
   * Where an `@file` typed here would have to start for Nix to read it as an include, or
   * undefined when no include can start here (Nix 2.8: `@` only at the very start of an entry).
   */
  includeStart: number | undefined;
}

const lineStartOf = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
function lineEndOf(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end < 0 ? text.length : end;
}
/** The first `#` in [from, to), or -1. */
function hashIn(text: string, from: number, to: number): number {
  const hash = text.indexOf('#', from);
  return hash >= 0 && hash < to ? hash : -1;
}
/** Just after the last `;` in [from, offset), or `from`. */
function afterLastSemicolon(text: string, from: number, offset: number): number {
  const semicolon = text.lastIndexOf(';', offset - 1);
  return semicolon >= from ? semicolon + 1 : from;
}
/** The next `;` in [offset, to), or `to`. */
function nextSemicolon(text: string, offset: number, to: number): number {
  const semicolon = text.indexOf(';', offset);
  return semicolon >= 0 && semicolon < to ? semicolon : to;
}

/** The place in a machines file (a builders text). */
export function placeInBuilders(text: string, offset: number, rules: VersionRules): CursorPlace {
  let entryStart: number;
  let bodyEnd: number;
  if (rules.splitLinesFirst) {
    // Nix ≥ 2.29: lines first, `#` to the end of the line, then `;`; entries are trimmed.
    const lineStart = lineStartOf(text, offset);
    const lineEnd = lineEndOf(text, offset);
    const hash = hashIn(text, lineStart, lineEnd);
    if (hash >= 0 && hash < offset) return { kind: 'comment' };
    const end = hash >= 0 ? hash : lineEnd;
    entryStart = afterLastSemicolon(text, lineStart, offset);
    bodyEnd = nextSemicolon(text, offset, end);
  } else {
    // Nix 2.8: one split on `\n` and `;`; `#` cuts to the end of that entry only.
    const lineStart = lineStartOf(text, offset);
    entryStart = afterLastSemicolon(text, lineStart, offset);
    const entryEnd = nextSemicolon(text, offset, lineEndOf(text, offset));
    const hash = hashIn(text, entryStart, entryEnd);
    if (hash >= 0 && hash < offset) return { kind: 'comment' };
    bodyEnd = hash >= 0 ? hash : entryEnd;
  }
  const includeStart = rules.splitLinesFirst ? firstNonBlank(text, entryStart, offset) : entryStart;
  return placeInEntry(text, entryStart, bodyEnd, offset, false, includeStart);
}

function firstNonBlank(text: string, from: number, to: number): number {
  let at = from;
  while (at < to && nixWhitespace.includes(text[at]!)) at++;
  return at;
}

function placeInEntry(
  text: string,
  entryStart: number,
  bodyEnd: number,
  offset: number,
  inConf: boolean,
  includeStart: number | undefined,
): CursorPlace {
  if (includeStart !== undefined && text[includeStart] === '@' && offset > includeStart) {
    const pathStart = firstNonBlank(text, includeStart + 1, offset);
    return {
      kind: 'include',
      path: { text: text.slice(pathStart, offset), span: { start: pathStart, end: offset } },
      inConf,
    };
  }
  const tokens = tokenize(text.slice(entryStart, bodyEnd), nixWhitespace, entryStart);
  const touching = tokens.findIndex((t) => t.span.start <= offset && offset <= t.span.end);
  const index = touching >= 0 ? touching : tokens.filter((t) => t.span.end < offset).length;
  const token = touching >= 0 ? tokens[touching]! : { text: '', span: { start: offset, end: offset } };
  // An `@file` typed here replaces the first column and any whitespace before it, so that its
  // `@` lands where Nix looks for one.
  const canInclude =
    includeStart !== undefined &&
    index === 0 &&
    includeStart <= token.span.start &&
    isBlank(text.slice(includeStart, token.span.start));
  return {
    kind: 'column',
    index,
    token,
    tokens,
    entry: { start: entryStart, end: bodyEnd },
    inConf,
    includeStart: canInclude ? includeStart : undefined,
  };
}

/** The place in a nix.conf. */
export function placeInNixConf(text: string, offset: number, rules: VersionRules): CursorPlace {
  // nix.conf: lines, `#` to the end of the line, whitespace-separated tokens.
  const lineStart = lineStartOf(text, offset);
  const lineEnd = lineEndOf(text, offset);
  const hash = hashIn(text, lineStart, lineEnd);
  if (hash >= 0 && hash < offset) return { kind: 'comment' };
  const bodyEnd = hash >= 0 ? hash : lineEnd;
  const tokens = tokenize(text.slice(lineStart, bodyEnd), nixWhitespace, lineStart);
  const first = tokens[0];
  if (first === undefined || offset <= first.span.end) {
    if (first !== undefined && offset < first.span.start) return { kind: 'nothing' };
    return { kind: 'conf-name', token: first ?? { text: '', span: { start: offset, end: offset } } };
  }
  const equals = tokens[1];
  if (equals?.text !== '=' || offset <= equals.span.end) return { kind: 'nothing' };
  if (first.text !== 'builders' && first.text !== 'extra-builders') return { kind: 'conf-value', name: first.text };

  // The value: Nix joins its tokens with single spaces and splits that on `;` (and `\n`).
  const valueStart = equals.span.end;
  const entryStart = afterLastSemicolon(text, valueStart, offset);
  const entryEnd = nextSemicolon(text, offset, bodyEnd);
  let includeStart: number | undefined;
  if (entryStart === valueStart) {
    includeStart = firstNonBlank(text, valueStart, offset); // the value starts at its first token
  } else if (rules.splitLinesFirst) {
    includeStart = firstNonBlank(text, entryStart, offset); // entries are trimmed
  } else {
    // Nix 2.8: `;` then whitespace leaves a space in front of the entry, so `@` right after
    // the `;` is the only include there.
    includeStart = entryStart;
  }
  return placeInEntry(text, entryStart, entryEnd, offset, true, includeStart);
}
