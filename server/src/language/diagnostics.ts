// Problems of the model as LSP diagnostics. Severity follows the design's contract (Error exactly
// when the targeted Nix rejects the text), the code is the problem's stable code, and a problem
// found inside an included file points there too.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { messageInItsFile, type Problem, type Severity } from '../model/problem';
import { rangeOfSpan } from './positions';

export const diagnosticSource = 'nix-builders';

const severities: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(problem: Problem, document: TextDocument): Diagnostic {
  const diagnostic: Diagnostic = {
    range: { start: document.positionAt(problem.span.start), end: document.positionAt(problem.span.end) },
    severity: severities[problem.severity],
    code: problem.code,
    source: diagnosticSource,
    message: problem.message,
  };
  const related = relatedInIncludedFile(problem);
  if (related) diagnostic.relatedInformation = [related];
  if ('data' in problem && problem.data !== undefined) diagnostic.data = problem.data;
  return diagnostic;
}

function relatedInIncludedFile(problem: Problem): DiagnosticRelatedInformation | undefined {
  if (!problem.file || !problem.fileSpan) return undefined;
  let text: string;
  try {
    text = readFileSync(problem.file, 'utf8');
  } catch {
    return undefined;
  }
  return {
    location: { uri: pathToFileURL(problem.file).toString(), range: rangeOfSpan(text, problem.fileSpan) },
    message: messageInItsFile(problem),
  };
}
