// What one document's publish holds: at most `maxPublishedDiagnostics`, Errors first so that
// Nix's rejection is never hidden behind thousands of warnings, then one Information saying how
// many more there are. A 40 000-line include can hold 40 000 problems: no editor shows them
// usefully, and converting and sending them all is most of the cost. Linear in the problems'
// lines, and only the shown ones are converted: a line's diagnostics are kept with its problems
// (lineDiagnostics.ts), so an edit that moves every line below it converts none of them again.
import type { Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { problem, type Problem, type Severity } from '../model/problem';
import { placedProblem, placedRun, type LineProblems } from '../model/problemsByLine';
import { toDiagnostic, type IncludedFiles } from './diagnostics';
import { lineDiagnostics } from './lineDiagnostics';
import type { Positions } from './linePositions';

export const maxPublishedDiagnostics = 1000;

const severityOrder: Severity[] = ['error', 'warning', 'information', 'hint'];

/** The publish of problems placed in the text (an analysis without a memo, an included file). */
export function diagnosticsToPublish(
  problems: readonly Problem[],
  document: TextDocument,
  files: IncludedFiles,
): Diagnostic[] {
  return diagnosticsByLineToPublish([placedRun(problems)], document, files);
}

/** The publish of problems as the lines keep them (`Analysis.problemsByLine`), in their order. */
export function diagnosticsByLineToPublish(
  runs: readonly LineProblems[],
  document: Positions,
  files: IncludedFiles,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const counts = severityCounts(runs);
  const total = counts.error + counts.warning + counts.information + counts.hint;
  if (total <= maxPublishedDiagnostics) {
    for (const run of runs) shownOf(run, undefined, maxPublishedDiagnostics, diagnostics, document, files);
    return diagnostics;
  }
  // By severity, not sorted: each severity keeps the analysis's order.
  const hidden = new Map<Severity, number>();
  for (const severity of severityOrder) {
    const before = diagnostics.length;
    if (counts[severity] > 0) {
      for (const run of runs) {
        if (diagnostics.length === maxPublishedDiagnostics) break;
        shownOf(run, severity, maxPublishedDiagnostics, diagnostics, document, files);
      }
    }
    const count = counts[severity] - (diagnostics.length - before);
    if (count > 0) hidden.set(severity, count);
  }
  diagnostics.push(toDiagnostic(moreProblems(total - diagnostics.length, hidden), document, files));
  return diagnostics;
}

/** How many problems of each severity the runs hold (compared, not looked up by name: this runs over every line). */
function severityCounts(runs: readonly LineProblems[]): Record<Severity, number> {
  let [error, warning, information, hint] = [0, 0, 0, 0];
  for (const run of runs) {
    for (const { severity } of run.problems) {
      if (severity === 'warning') warning++;
      else if (severity === 'error') error++;
      else if (severity === 'information') information++;
      else hint++;
    }
  }
  return { error, warning, information, hint };
}

/** Adds the run's diagnostics of `severity` (all: undefined) to `shown`, until it holds `max`. */
function shownOf(
  run: LineProblems,
  severity: Severity | undefined,
  max: number,
  shown: Diagnostic[],
  document: Positions,
  files: IncludedFiles,
): void {
  const { problems } = run;
  // Looked up at the first problem shown: the Errors' pass walks every line, and most have none.
  let kept: Diagnostic[] | undefined | null = null;
  for (let i = 0; i < problems.length && shown.length < max; i++) {
    const p = problems[i]!;
    if (severity !== undefined && p.severity !== severity) continue;
    if (kept === null) kept = lineDiagnostics(run, document);
    shown.push(kept?.[i] ?? toDiagnostic(placedProblem(p, run), document, files));
  }
}

function moreProblems(count: number, hidden: Map<Severity, number>): Problem {
  const names: Record<Severity, string> = { error: 'error', warning: 'warning', information: 'note', hint: 'hint' };
  const kinds = [...hidden]
    .map(([severity, n]) => `${n.toLocaleString('en-US')} ${names[severity]}${n === 1 ? '' : 's'}`)
    .join(', ');
  return problem(
    'too-many-problems',
    { start: 0, end: 0 },
    `${count.toLocaleString('en-US')} more problems are not shown (${kinds}): only the first ${maxPublishedDiagnostics.toLocaleString('en-US')} of a document are, Errors first. Run \`nix-builders check FILE\` to list them all.`,
  );
}
