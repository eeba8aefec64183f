// The machines and `@file` includes written in the document itself (not those read from included
// files), and the column at an offset: what hovers, inlay hints, links and the pin action work on.
// In a nix.conf, every `builders` line counts, not only the last one Nix applies.
import { columnNames, type BuildersInclude, type Column, type Machine, type ParsedBuilders } from '../model/machines';
import type { Analysis } from './analysis';

function ownBuilders(analysis: Analysis): ParsedBuilders[] {
  if (analysis.kind === 'nix-machines') return analysis.builders ? [analysis.builders] : [];
  const result: ParsedBuilders[] = [];
  for (const setting of analysis.conf?.settings ?? []) {
    if (
      setting.file === undefined &&
      setting.builders !== undefined &&
      (setting.name === 'builders' || setting.name === 'extra-builders')
    ) {
      result.push(setting.builders);
    }
  }
  return result;
}

export function ownMachines(analysis: Analysis): Machine[] {
  return ownBuilders(analysis).flatMap((b) => b.machines.filter((m) => m.file === undefined));
}

export function ownIncludes(analysis: Analysis): BuildersInclude[] {
  return ownBuilders(analysis).flatMap((b) => b.includes.filter((i) => i.file === undefined));
}

/** Every column of a machine in order, the ignored ones after the eighth included. */
export function columnsOf(machine: Machine): Column[] {
  const columns: Column[] = [];
  for (const name of columnNames) {
    const column = machine.columns[name];
    if (column === undefined) break;
    columns.push(column);
  }
  return [...columns, ...machine.extraColumns];
}

export interface ColumnHit {
  machine: Machine;
  /** 0-based; 8 and more are ignored by Nix. */
  index: number;
  column: Column;
}

export function columnAt(analysis: Analysis, offset: number): ColumnHit | undefined {
  for (const machine of ownMachines(analysis)) {
    if (offset < machine.columns.storeUri.span.start) continue;
    const columns = columnsOf(machine);
    const last = columns[columns.length - 1]!;
    if (offset >= last.span.end) continue;
    // A hover position is the character under the mouse: the one after a column is not in it.
    const index = columns.findIndex((c) => c.span.start <= offset && offset < c.span.end);
    if (index >= 0) return { machine, index, column: columns[index]! };
  }
  return undefined;
}

export function includeAt(analysis: Analysis, offset: number): BuildersInclude | undefined {
  return ownIncludes(analysis).find((i) => i.span.start <= offset && offset < i.span.end);
}
