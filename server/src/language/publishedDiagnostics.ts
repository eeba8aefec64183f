// What one document's publish holds: at most `maxPublishedDiagnostics`, Errors first so that
// Nix's rejection is never hidden behind thousands of warnings, then one Information saying how
// many more there are. A 40 000-line include can hold 40 000 problems: no editor shows them
// usefully, and converting and sending them all is most of the cost. Linear in the problems.
import type { Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { problem, type Problem, type Severity } from '../model/problem';
import { toDiagnostic, type IncludedFiles } from './diagnostics';

export const maxPublishedDiagnostics = 1000;

const severityOrder: Severity[] = ['error', 'warning', 'information', 'hint'];

export function diagnosticsToPublish(
  problems: readonly Problem[],
  document: TextDocument,
  files: IncludedFiles,
): Diagnostic[] {
  if (problems.length <= maxPublishedDiagnostics) return problems.map((p) => toDiagnostic(p, document, files));
  // Bucketed, not sorted: each severity keeps the analysis's order.
  const buckets = new Map<Severity, Problem[]>(severityOrder.map((s) => [s, []]));
  for (const p of problems) buckets.get(p.severity)!.push(p);
  const shown: Problem[] = [];
  for (const severity of severityOrder) {
    for (const p of buckets.get(severity)!) {
      if (shown.length === maxPublishedDiagnostics) break;
      shown.push(p);
    }
  }
  const hidden = new Map<Severity, number>();
  for (const severity of severityOrder) {
    const count = buckets.get(severity)!.length - shown.filter((p) => p.severity === severity).length;
    if (count > 0) hidden.set(severity, count);
  }
  const diagnostics = shown.map((p) => toDiagnostic(p, document, files));
  diagnostics.push(toDiagnostic(moreProblems(problems.length - shown.length, hidden), document, files));
  return diagnostics;
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
