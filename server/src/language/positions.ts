// Offsets in a text to LSP positions (UTF-16 code units, as LSP counts by default).
import type { Position, Range } from 'vscode-languageserver';
import type { Span } from '../model/problem';

export function positionAt(text: string, offset: number): Position {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < clamped; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, character: clamped - lineStart };
}

export function rangeOfSpan(text: string, span: Span): Range {
  return { start: positionAt(text, span.start), end: positionAt(text, span.end) };
}
