// A builder whose last check found it unusable becomes a problem on its machines line, so the
// Problems panel lists it beside the file's own diagnostics: a user reading the file sees which
// lines Nix would fail to reach, and why. One diagnostic per machine (its worst finding), kept
// until a check passes or the line goes away; the checker merges them into each publish.
import { pathToFileURL } from 'node:url';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import { readTextOrUndefined } from '../context/readFile';
import type { BuilderMachine, MachineHealth } from '../protocol';
import { diagnosticSource } from './diagnostics';

interface Unusable {
  health: MachineHealth;
  machine: BuilderMachine;
}

export class HealthDiagnostics {
  /** Machines whose last check said `down`, by machine id. */
  private readonly unusable = new Map<string, Unusable>();

  constructor(
    /** Called with each file whose health diagnostics changed: the checker publishes it again. */
    private readonly changed: (uri: string) => void,
  ) {}

  /** A check's result for `machine` (undefined: no longer listed). */
  record(health: MachineHealth, machine: BuilderMachine | undefined): void {
    if (health.status === 'probing') return; // the last result stands until the new one
    const before = this.unusable.get(health.id);
    if (health.status === 'down' && machine?.location) this.unusable.set(health.id, { health, machine });
    else this.unusable.delete(health.id);
    for (const uri of new Set([before && fileUri(before.machine), machine?.location && fileUri(machine)]))
      if (uri) this.changed(uri);
  }

  /** The builders were listed again: lines moved, or went away with their results. */
  follow(machines: ReadonlyMap<string, BuilderMachine>): void {
    const touched = new Set<string>();
    for (const [id, entry] of this.unusable) {
      const now = machines.get(id);
      const was = fileUri(entry.machine);
      if (now?.location && sameLocation(now, entry.machine)) continue;
      touched.add(was);
      if (now?.location) {
        this.unusable.set(id, { health: entry.health, machine: now });
        touched.add(fileUri(now));
      } else this.unusable.delete(id);
    }
    for (const uri of touched) this.changed(uri);
  }

  /** The diagnostics for the machines written in this file. */
  forFile(uri: string): Diagnostic[] {
    const lines = new Map<string, string[] | undefined>();
    const diagnostics: Diagnostic[] = [];
    for (const { health, machine } of this.unusable.values()) {
      if (fileUri(machine) !== uri) continue;
      const file = machine.location!.file;
      if (!lines.has(file)) lines.set(file, readTextOrUndefined(file)?.split('\n'));
      diagnostics.push(diagnosticOf(health, machine, lines.get(file)));
    }
    return diagnostics;
  }
}

function fileUri(machine: BuilderMachine): string {
  return pathToFileURL(machine.location!.file).toString();
}

function sameLocation(a: BuilderMachine, b: BuilderMachine): boolean {
  return (
    a.location!.file === b.location!.file &&
    a.location!.line === b.location!.line &&
    a.location!.character === b.location!.character
  );
}

function diagnosticOf(health: MachineHealth, machine: BuilderMachine, lines: string[] | undefined): Diagnostic {
  const { line, character } = machine.location!;
  // The store URI as written (its first word), so the squiggle sits under the builder's name.
  const written = lines?.[line]?.slice(character).match(/^\S+/)?.[0] ?? machine.uri;
  const worst =
    health.findings.find((f) => f.severity === 'error') ?? health.findings.find((f) => f.severity === 'warning');
  const when = new Date(health.at).toISOString().replace('T', ' ').slice(0, 16);
  const cause = worst ? `${worst.title}. ${worst.message}` : (health.summary ?? 'it did not answer');
  return {
    range: { start: { line, character }, end: { line, character: character + written.length } },
    severity: DiagnosticSeverity.Error,
    source: diagnosticSource,
    code: worst?.code ?? 'builder-down',
    message: `The last check of ${machine.uri} (${when} UTC) found it unusable: ${cause}`,
  };
}
