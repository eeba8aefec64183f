// Where a lint problem goes. Spans from an included file are in that file; the model's
// convention (machines.ts, nixConf.ts) shows such a problem on the include of the parsed text
// that led there, with `file` and `fileSpan` saying where it really is.

import type { Problem, Span } from '../problem';
import type { NixVersion } from '../nixVersion';
import { tokenize, type Piece } from '../nixStrings';
import type { Column } from '../machines';

/**
 * A problem of a builders value in a nix.conf line, for a nix.conf that is itself included:
 * shown on the `include` of the parsed text. A problem already placed in an `@file` keeps its
 * `file` and `fileSpan` (the innermost file is where it is).
 */
export function placeInConfOrigin(
  p: Problem,
  origin: { file: string | undefined; includedVia: Span | undefined },
): Problem {
  if (origin.file === undefined || origin.includedVia === undefined) return p;
  // A related place in the same text moves into the same file.
  const related = p.data?.related;
  const moved =
    related !== undefined && related.file === undefined
      ? { ...p, data: { ...p.data, related: { ...related, file: origin.file } } }
      : p;
  if (moved.file !== undefined) return { ...moved, span: origin.includedVia };
  return {
    ...moved,
    span: origin.includedVia,
    file: origin.file,
    fileSpan: p.span,
    message: `In ${origin.file}: ${p.message}`,
  };
}

/** The comma-separated items of a column (systems, features), each with its own span. */
export function commaItems(column: Column): Piece[] {
  return tokenize(column.text, ',', column.span.start);
}

/** `a`, `a and b`, `a, b and c`. */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** `2.31`, as people name Nix releases. */
export function majorMinor(version: NixVersion): string {
  return `${version.major}.${version.minor}`;
}
