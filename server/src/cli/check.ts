// `nix-builders check [FILE...]`: the language server's diagnostics on the command line, as
// `file:line:col: severity code message`. Without FILE it checks what Nix itself reads: the
// nix.conf chain and the machines files its `builders` setting leads to.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { confSources, defaultBuilders } from '../builders/configChain';
import { messageInItsFile, type Problem } from '../model/problem';
import { analyze, type Analysis, type DocumentKind } from '../language/analysis';
import { readTextOrUndefined, readUserFile, whyNotRead } from '../context/readFile';
import { fileIndex, indexed } from '../context/positions';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { ServerContext } from '../context/serverContext';
import type { NixTarget } from '../context/target';
import type { OutputFormat } from './options';

export interface Finding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Problem['severity'];
  code: string;
  message: string;
}

function kindOfFile(path: string): DocumentKind {
  const name = basename(path);
  return name === 'nix.conf' || name.endsWith('.conf') ? 'nix-conf' : 'nix-machines';
}

/** Where a problem is, 1-based, in the file it is really in (an included file when it is there). */
function findingOf(
  problem: Problem,
  file: string,
  text: TextDocument,
  included: (file: string) => TextDocument | undefined,
): Finding {
  let where = file;
  let whereText = text;
  let span = problem.span;
  const inFile = problem.file && problem.fileSpan ? included(problem.file) : undefined;
  if (inFile && problem.file && problem.fileSpan) {
    whereText = inFile;
    where = problem.file;
    span = problem.fileSpan;
  } // else: it changed under us, or is gone: report at the include
  const start = whereText.positionAt(span.start);
  const end = whereText.positionAt(span.end);
  const message = where === file ? problem.message : messageInItsFile(problem);
  return {
    file: where,
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
    severity: problem.severity,
    code: problem.code,
    message,
  };
}

/** The findings of one text, and its analysis. */
function checkText(
  name: string,
  path: string | undefined,
  text: string,
  kind: DocumentKind,
  target: NixTarget,
): { findings: Finding[]; analysis: Analysis } {
  const document = indexed(text);
  const included = fileIndex(readTextOrUndefined);
  const analysis = analyze(text, kind, path, target);
  return { findings: analysis.problems.map((problem) => findingOf(problem, name, document, included)), analysis };
}

export interface CheckResult {
  checked: string[];
  /** Files read through `@file` and `include` of a checked file: their problems are among the findings. */
  included: string[];
  /** Where Nix would look when no FILE is given: named when none of them exists. */
  lookedFor: string[];
  findings: Finding[];
  /** Files that could not be read at all. */
  unreadable: { file: string; reason: string }[];
  target: NixTarget;
}

export async function runCheck(files: string[], context: ServerContext): Promise<CheckResult> {
  const { target } = await context.nixHere();
  const result: CheckResult = { checked: [], included: [], lookedFor: [], findings: [], unreadable: [], target };
  // Findings can number in the hundreds of thousands: appended one by one, never spread into push.
  const add = (findings: Finding[]) => {
    for (const finding of findings) result.findings.push(finding);
  };
  const checkFile = (path: string, kind: DocumentKind): Analysis | undefined => {
    // Never a FIFO or a device, never more than the cap: `check /dev/zero` says so and goes on.
    const read = readUserFile(path);
    if (read.kind !== 'text') {
      result.unreadable.push({ file: path, reason: whyNotRead(read) });
      return undefined;
    }
    result.checked.push(path);
    const { findings, analysis } = checkText(path, path, read.text, kind, target);
    add(findings);
    noteIncluded(analysis);
    return analysis;
  };
  // The user reads "Checked …" to know which files were looked at: includes count too.
  const noteIncluded = (analysis: Analysis) => {
    const files = [
      ...(analysis.conf?.includes ?? []).filter((i) => i.status === 'read').map((i) => i.resolvedPath),
      ...(analysis.builders?.includes ?? []).filter((i) => i.status === 'read').map((i) => i.path),
    ];
    for (const file of files)
      if (!result.checked.includes(file) && !result.included.includes(file)) result.included.push(file);
  };

  if (files.length > 0) {
    for (const file of files) checkFile(file, kindOfFile(file));
    return result;
  }
  // What Nix reads: every nix.conf source; when none sets builders, the default machines file.
  let buildersSet = false;
  for (const source of confSources()) {
    result.lookedFor.push(source.name);
    if (source.path === undefined) {
      const text = source.text ?? '';
      result.checked.push(source.name);
      const { findings, analysis } = checkText(source.name, undefined, text, 'nix-conf', target);
      add(findings);
      noteIncluded(analysis);
      buildersSet ||= analysis.conf?.builders !== undefined;
    } else if (existsSync(source.path)) {
      // A missing file of the chain is skipped, as Nix does (existsSync is a stat: it never blocks).
      const analysis = checkFile(source.path, 'nix-conf');
      buildersSet ||= analysis?.conf?.builders !== undefined;
    }
  }
  const machinesFile = defaultBuilders.slice(1);
  if (!buildersSet) result.lookedFor.push(machinesFile);
  if (!buildersSet && existsSync(machinesFile)) checkFile(machinesFile, 'nix-machines');
  return result;
}

export function formatCheck(result: CheckResult, format: OutputFormat): string {
  if (format === 'json') {
    return `${JSON.stringify({ nix: result.target.describe, checked: result.checked, included: result.included, unreadable: result.unreadable, findings: result.findings }, null, 2)}\n`;
  }
  const lines = result.findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.severity} ${f.code} ${f.message}`);
  for (const { file, reason } of result.unreadable)
    lines.push(`${file}: error unreadable cannot read the file (${reason})`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The files by name: `a`, `a and b`, `3 files: a, b (included) and c`. */
function checkedInWords(result: CheckResult): string {
  const names = [...result.checked, ...result.included.map((file) => `${file} (included)`)];
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
  return names.length > 2 ? `${names.length} files: ${list}` : list;
}

export function summary(result: CheckResult): string {
  const count = (severity: Problem['severity']) => result.findings.filter((f) => f.severity === severity).length;
  if (result.checked.length === 0 && result.unreadable.length === 0) {
    return `No nix.conf and no machines file found (looked for ${result.lookedFor.join(', ')}): Nix has no remote builders configured here.`;
  }
  return `Checked ${checkedInWords(result)} against ${result.target.describe}: ${count('error')} error(s), ${count('warning')} warning(s), ${count('information') + count('hint')} note(s).`;
}
