// Inlay hints that name the column of each `-` placeholder (`maxJobs: -`), so a row of dashes
// reads like a form. Not in a machines file that is already an aligned table (what Format
// Document makes): a hint is drawn inside the line and would push every later column out of
// line, and there the column a `-` stands in (and the header above it) says what it is. A
// ragged or lone line keeps them. Turned off with `nixBuilders.inlayHints.enabled`.
import { InlayHintKind, type InlayHint } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Analysis } from './analysis';
import { columnInfo } from './columnInfo';
import { columnsOf, ownMachines } from './documentMachines';
import { alignedTableLines } from './formatting';

function lineStart(document: TextDocument, offset: number): number {
  return document.offsetAt({ line: document.positionAt(offset).line, character: 0 });
}

export function inlayHints(
  document: TextDocument,
  analysis: Analysis,
  range: { start: number; end: number },
): InlayHint[] {
  const hints: InlayHint[] = [];
  const aligned = analysis.kind === 'nix-machines' ? alignedTableLines(document.getText()) : new Set<number>();
  for (const machine of ownMachines(analysis)) {
    if (machine.rowSpan.end < range.start || machine.rowSpan.start > range.end) continue;
    if (aligned.has(lineStart(document, machine.rowSpan.start))) continue;
    columnsOf(machine).forEach((column, index) => {
      const info = columnInfo[index];
      // Column 1 cannot be `-` (Nix rejects it: a diagnostic says so).
      if (index === 0 || info === undefined || column.text !== '-') return;
      hints.push({
        position: document.positionAt(column.span.start),
        label: `${info.short}:`,
        kind: InlayHintKind.Parameter,
        paddingRight: true,
        tooltip: `Column ${info.number}, ${info.title}: '-' means the default, ${info.default.replace(/`/g, '')}.`,
      });
    });
  }
  return hints;
}
