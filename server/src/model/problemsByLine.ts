// A machines file's problems as its lines keep them (lineMemo.ts): in the analysis's order, each
// line's own list with spans counted from where the line starts, so that an edit which moves
// ten thousand lines with a warning each copies none of them. The publish turns into diagnostics
// only the few hundred it shows (language/publishedDiagnostics.ts, which keeps each line's); the
// problems placed in the text are made only when a feature asks for them all (`placedProblems`).
import type { Problem } from './problem';

/** Problems of one line, or problems already placed in the text. */
export interface LineProblems {
  /**
   * Where the line starts: the spans count from here. 0 for problems placed in the text (an
   * `@file` line's, the includes', duplicates merged into a line).
   */
  start: number;
  /** In the analysis's order; the array stays the same while the line is kept (a cache may key on it). */
  problems: readonly Problem[];
  /** The line's text when the spans count from its start; undefined when they are already in the text. */
  line: string | undefined;
}

/** Problems placed in the text as they are: one run that starts at 0. */
export function placedRun(problems: readonly Problem[]): LineProblems {
  return { start: 0, problems, line: undefined };
}

/** The runs' problems, every span in the text, in the runs' order (the analysis's `problems`). */
export function placedProblems(runs: readonly LineProblems[]): Problem[] {
  const problems: Problem[] = [];
  for (const run of runs) {
    for (const p of run.problems) problems.push(placedProblem(p, run));
  }
  return problems;
}

/** A problem of the run where it is in the text (a copy only when it moved). */
export function placedProblem(p: Problem, run: LineProblems): Problem {
  if (run.line === undefined || run.start === 0) return p;
  // Not lineMemo.ts' `movedProblem`: lineMemo.ts imports this file.
  return { ...p, span: { start: p.span.start + run.start, end: p.span.end + run.start } };
}
