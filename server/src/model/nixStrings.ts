// Nix's own small string functions (libutil), reproduced exactly, because what counts as a
// separator, a number or base64 decides what Nix accepts. Each keeps the offsets of what it
// returns so the parsers can point at the exact characters.

import type { Span } from './problem';

/** A piece of a text and where it is. */
export interface Piece {
  text: string;
  span: Span;
}

/** Nix's default whitespace for `tokenizeString` and `trim`: space, tab, newline, carriage return. */
export const nixWhitespace = ' \t\n\r';

/**
 * Nix's `tokenizeString(s, separators)`: the runs of characters between separator characters.
 * Empty runs are dropped, so `a;;b` gives two pieces and `;` gives none.
 * `offset` is where `text` starts in the document, so spans are document offsets.
 */
export function tokenize(text: string, separators: string, offset = 0): Piece[] {
  const pieces: Piece[] = [];
  // Up to four separators compared directly (every caller's): this runs on each line and each
  // column of a 10 000-machine file, where looking each character up in an array is the cost.
  if (separators.length > 4) return tokenizeMany(text, separators, offset);
  // charCodeAt past the end is NaN, which equals no character. (An array destructured here was a third of the parse.)
  const a = separators.charCodeAt(0);
  const b = separators.charCodeAt(1);
  const c = separators.charCodeAt(2);
  const d = separators.charCodeAt(3);
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? -2 : text.charCodeAt(i);
    if (code === -2 || code === a || code === b || code === c || code === d) {
      if (start >= 0) pieces.push({ text: text.slice(start, i), span: { start: offset + start, end: offset + i } });
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return pieces;
}

function tokenizeMany(text: string, separators: string, offset: number): Piece[] {
  const pieces: Piece[] = [];
  const codes = [...separators].map((c) => c.charCodeAt(0));
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || codes.includes(text.charCodeAt(i))) {
      if (start >= 0) pieces.push({ text: text.slice(start, i), span: { start: offset + start, end: offset + i } });
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return pieces;
}

/** True when the text is nothing but Nix's whitespace (or empty). */
export function isBlank(text: string): boolean {
  return !/[^ \t\n\r]/.test(text);
}

/** Nix's `trim(s)`: without leading and trailing space, tab, newline and carriage return. */
export function trimPiece(piece: Piece): Piece {
  let start = 0;
  let end = piece.text.length;
  while (start < end && nixWhitespace.includes(piece.text[start]!)) start++;
  while (end > start && nixWhitespace.includes(piece.text[end - 1]!)) end--;
  return {
    text: piece.text.slice(start, end),
    span: { start: piece.span.start + start, end: piece.span.start + end },
  };
}

/** The part of a piece from character `from` to character `to` (relative to the piece). */
export function subPiece(piece: Piece, from: number, to = piece.text.length): Piece {
  return {
    text: piece.text.slice(from, to),
    span: { start: piece.span.start + from, end: piece.span.start + to },
  };
}

const maxUnsignedInt = 4294967295;

/**
 * Nix's `string2Int<unsigned int>`: a leading `-` is refused, then boost::lexical_cast reads
 * the rest: an optional `+`, decimal digits only (leading zeros are fine), at most 2^32 - 1.
 * Real Nix 2.8: `+3` → 3, `007` → 7, `-0`, `+`, `3x`, `0x10`, `1.5`, `4294967296` are refused.
 */
export function readUnsignedInt(text: string): number | undefined {
  // The common case (a few plain digits) without a regular expression; the rest as written below.
  if (text.length > 0 && text.length < 10) {
    let value = 0;
    let i = 0;
    for (; i < text.length; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === text.length) return value;
  }
  if (!/^\+?[0-9]+$/.test(text)) return undefined;
  const value = Number(text.replace(/^\+/, ''));
  return value <= maxUnsignedInt ? value : undefined;
}

/**
 * Nix's `string2Float<float>` (boost::lexical_cast<float>): an optional sign, decimal digits
 * with an optional point and exponent, or `inf`/`infinity`/`nan` in any case. A finite text
 * whose value does not fit a float is refused. Returns the value as a float holds it.
 */
export function readFloat(text: string): number | undefined {
  if (/^[+-]?(inf|infinity|nan)$/i.test(text)) {
    const negative = text.startsWith('-');
    if (/nan/i.test(text)) return NaN;
    return negative ? -Infinity : Infinity;
  }
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(text)) return undefined;
  const value = Math.fround(Number(text));
  return Number.isFinite(value) ? value : undefined;
}

/** Why Nix's `base64Decode` refuses a text: the first character outside the alphabet. */
export interface Base64Refusal {
  /** Index of the refused character in the text. */
  index: number;
  character: string;
}

/**
 * Nix's `base64Decode` accepts any text whose characters before the first `=` are in
 * `A-Z a-z 0-9 + /` (newlines are skipped): it stops at `=` and checks neither length nor
 * padding, so `A`, `A=!!` and `====` pass. Returns undefined when Nix accepts the text.
 */
export function base64Refusal(text: string): Base64Refusal | undefined {
  const end = text.indexOf('=');
  const checked = end < 0 ? text : text.slice(0, end);
  const bad = /[^A-Za-z0-9+/\n]/.exec(checked);
  if (bad === null) return undefined;
  return { index: bad.index, character: String.fromCodePoint(text.codePointAt(bad.index)!) };
}

/**
 * std::set<std::string> order: byte-wise on UTF-8, which is the order of Unicode code points,
 * so the order Nix prints and iterates features in. (JavaScript's default sort compares UTF-16
 * units, which puts characters above U+FFFF before U+E000..U+FFFF.)
 */
function compareBytes(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

/** Nix's `tokenizeString<std::set<std::string>>(s, ",")`: sorted, without duplicates or empties. */
export function commaSet(text: string): string[] {
  if (!text.includes(',')) return text === '' ? [] : [text]; // one item: nothing to sort or drop
  const unique = [...new Set(text.split(',').filter((s) => s !== ''))];
  return unique.sort(compareBytes);
}

/** Nix's `tokenizeString<std::vector<std::string>>(s, ",")`: in order, duplicates kept, no empties. */
export function commaList(text: string): string[] {
  if (!text.includes(',')) return text === '' ? [] : [text];
  return text.split(',').filter((s) => s !== '');
}
