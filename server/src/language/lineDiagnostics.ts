// A line's diagnostics kept with its problems, so that a publish after an edit converts only
// the lines the edit changed: a line below it that moved by some characters has the same
// diagnostics (LSP positions count lines and characters, not offsets), and one that moved by
// some lines gets a copy with its line number changed. Kept only where that holds exactly:
// every span inside the line and before any `\r` (LSP counts a lone `\r` as a line break, and a
// `\r\n` becomes one when the `\n` is deleted), nothing pointing into an included file. The
// rest is converted each time, as from scratch.
import type { Diagnostic } from 'vscode-languageserver';
import type { Problem } from '../model/problem';
import { placedProblem, type LineProblems } from '../model/problemsByLine';
import { toDiagnostic } from './diagnostics';
import type { Positions } from './linePositions';

/** A line with more is converted problem by problem, only what is shown (a publish shows at most 1 000). */
const mostKept = 100;

/** For a line's problems (the array stays while the line is kept): its diagnostics on the LSP line they were last on; null: never kept. */
const kept = new WeakMap<readonly Problem[], { line: number; diagnostics: Diagnostic[] } | null>();

/** The run's diagnostics, one per problem in its order, or undefined when its line's are not kept. */
export function lineDiagnostics(run: LineProblems, document: Positions): Diagnostic[] | undefined {
  const { problems, line: text } = run;
  if (text === undefined || problems.length > mostKept) return undefined;
  let entry = kept.get(problems);
  if (entry === null) return undefined;
  const line = document.positionAt(run.start).line;
  if (entry === undefined) {
    if (!keepable(problems, text)) {
      kept.set(problems, null);
      return undefined;
    }
    // The first time as from scratch; the line's own problems point nowhere else (no included files).
    const diagnostics = problems.map((p) => toDiagnostic(placedProblem(p, run), document, () => undefined));
    kept.set(problems, { line, diagnostics });
    return diagnostics;
  }
  if (entry.line !== line) {
    entry = { line, diagnostics: entry.diagnostics.map((d) => onLine(d, line)) };
    kept.set(problems, entry);
  }
  return entry.diagnostics;
}

/** True when each problem's LSP range is (line of the line's start, offset from it) wherever the line is. */
function keepable(problems: readonly Problem[], text: string): boolean {
  // A `\r` ending the line (`\r\n`) breaks no line before it; anywhere else LSP starts a line there.
  const cr = text.indexOf('\r');
  const end = cr === -1 ? text.length : cr === text.length - 1 ? cr : -1;
  return problems.every(
    (p) =>
      p.file === undefined &&
      p.fileSpan === undefined &&
      p.span.start >= 0 &&
      p.span.end >= 0 &&
      p.span.start <= end &&
      p.span.end <= end,
  );
}

/** A copy of a one-line diagnostic on another line (the original may still be in the last publish). */
function onLine(diagnostic: Diagnostic, line: number): Diagnostic {
  const { start, end } = diagnostic.range;
  return {
    ...diagnostic,
    range: { start: { line, character: start.character }, end: { line, character: end.character } },
  };
}
