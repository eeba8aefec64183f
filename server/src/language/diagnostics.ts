// Problems of the model as LSP diagnostics. Severity follows the design's contract (Error exactly
// when the targeted Nix rejects the text), the code is the problem's stable code, and a problem
// found inside an included file points there too.
import { pathToFileURL } from 'node:url';
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { messageInItsFile, type Problem, type Severity } from '../model/problem';
import type { Positions } from './linePositions';

/** The included files, each read and indexed once for all the problems placed in it. */
export type IncludedFiles = (file: string) => TextDocument | undefined;

export const diagnosticSource = 'nix-builders';

const severities: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(problem: Problem, document: Positions, files: IncludedFiles): Diagnostic {
  const diagnostic: Diagnostic = {
    range: { start: document.positionAt(problem.span.start), end: document.positionAt(problem.span.end) },
    severity: severities[problem.severity],
    code: problem.code,
    source: diagnosticSource,
    message: problem.message,
  };
  const related = relatedInIncludedFile(problem, files);
  if (related) diagnostic.relatedInformation = [related];
  if ('data' in problem && problem.data !== undefined) diagnostic.data = problem.data;
  return diagnostic;
}

function relatedInIncludedFile(problem: Problem, files: IncludedFiles): DiagnosticRelatedInformation | undefined {
  if (!problem.file || !problem.fileSpan) return undefined;
  const text = files(problem.file);
  if (text === undefined) return undefined;
  return {
    location: {
      uri: pathToFileURL(problem.file).toString(),
      range: { start: text.positionAt(problem.fileSpan.start), end: text.positionAt(problem.fileSpan.end) },
    },
    message: messageInItsFile(problem),
  };
}
