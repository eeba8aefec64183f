// Outline and breadcrumbs: one symbol per machine, named by its host with its systems as detail,
// so the outline counts exactly the machines Nix reads. Machines from an `@file` sit on that
// include. In nix.conf, every setting is a symbol and `builders` holds its machines.
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Machine } from '../model/machines';
import type { Span } from '../model/problem';
import { machineLabel } from '../model/storeUri';
import type { Analysis } from './analysis';

function range(document: TextDocument, span: Span) {
  return { start: document.positionAt(span.start), end: document.positionAt(span.end) };
}

function machineSymbol(machine: Machine, document: TextDocument): DocumentSymbol {
  const whole = machine.file === undefined ? machine.rowSpan : (machine.includedVia ?? machine.rowSpan);
  const name = machine.file === undefined ? machine.columns.storeUri.span : whole;
  const systems = machine.systems.join(', ') || 'no systems';
  return {
    name: machineLabel(machine.storeUri),
    detail: machine.file === undefined ? systems : `${systems} · from ${machine.file}`,
    kind: SymbolKind.Class,
    range: range(document, whole),
    selectionRange: range(document, name),
  };
}

export function documentSymbols(analysis: Analysis, document: TextDocument): DocumentSymbol[] {
  if (analysis.kind === 'nix-machines') return analysis.machines.map((machine) => machineSymbol(machine, document));
  const symbols: DocumentSymbol[] = [];
  for (const setting of analysis.conf?.settings ?? []) {
    if (setting.file !== undefined) continue; // in an included file: not in this document
    const symbol: DocumentSymbol = {
      name: setting.name,
      detail: setting.value.length > 60 ? `${setting.value.slice(0, 57)}…` : setting.value,
      kind: SymbolKind.Property,
      range: range(document, setting.lineSpan),
      selectionRange: range(document, setting.nameSpan),
    };
    if (setting.builders)
      symbol.children = setting.builders.machines.map((machine) => machineSymbol(machine, document));
    symbols.push(symbol);
  }
  return symbols;
}
