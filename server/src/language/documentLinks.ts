// Links to the files a document points at: `@file` includes, SSH key files (column 3) and nix.conf
// `include` lines. Only files that exist are linked (a missing one has its own diagnostic), and
// only absolute paths: Nix resolves a relative `@file` against its own working directory.
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { DocumentLink } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { expandTilde } from '../model/identityFile';
import type { Span } from '../model/problem';
import type { Analysis } from './analysis';
import { ownIncludes, ownMachines } from './documentMachines';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function documentLinks(document: TextDocument, analysis: Analysis): DocumentLink[] {
  const links: DocumentLink[] = [];
  const link = (span: Span, path: string, tooltip: string) => {
    if (!path.startsWith('/') || !isFile(path)) return;
    links.push({
      range: { start: document.positionAt(span.start), end: document.positionAt(span.end) },
      target: pathToFileURL(path).toString(),
      tooltip,
    });
  };
  for (const include of ownIncludes(analysis)) link(include.pathSpan, include.path, 'Open the included machines file');
  for (const machine of ownMachines(analysis)) {
    const key = machine.columns.sshKey;
    if (key?.isSet) link(key.span, expandTilde(key.text, analysis.target.keyHome), 'Open the SSH key file');
  }
  for (const include of analysis.conf?.includes ?? []) {
    if (include.file === undefined) link(include.pathSpan, include.resolvedPath, 'Open the included nix.conf');
  }
  return links;
}
