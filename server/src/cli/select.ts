// `nix-builders select --system S [--features a,b]`: the machine Nix would pick, and for every
// machine why (not). Nothing is built and nothing is contacted.
import { candidateOf, selectMachine, type Candidate, type Selection } from '../dispatch/select';
import { machineLabel } from '../model/storeUri';
import type { ChosenMachines } from './machinesOption';
import type { OutputFormat } from './options';

/** The machines as the selector sees them, each id its index (the CLI runs no builds: load 0). */
function candidatesOf(chosen: ChosenMachines): Candidate[] {
  return chosen.machines.map((machine, index) => candidateOf(String(index), machine));
}

export function runSelect(
  chosen: ChosenMachines,
  system: string,
  features: string[],
  format: OutputFormat,
): { selection: Selection; text: string } {
  const selection = selectMachine(candidatesOf(chosen), { system, requiredFeatures: features }, chosen.target.rules);
  if (format === 'json') {
    const json = {
      system,
      features,
      nix: chosen.target.describe,
      chosen: selection.chosen?.uri ?? null,
      machines: selection.verdicts.map((v) => ({ uri: v.candidate.uri, verdict: v.kind, reason: v.reason })),
    };
    return { selection, text: `${JSON.stringify(json, null, 2)}\n` };
  }
  const lines = selection.verdicts.map(
    (v) =>
      `${v.kind === 'chosen' ? '→' : ' '} ${machineLabel(v.candidate.uri).padEnd(30)} ${v.kind.padEnd(24)} ${v.reason}`,
  );
  const head = selection.chosen
    ? `Nix would build ${system}${features.length ? ` (${features.join(', ')})` : ''} on ${selection.chosen.uri}.`
    : `No machine fits ${system}${features.length ? ` with ${features.join(', ')}` : ''}${selection.wouldWait ? ' now; Nix waits for a busy one' : ': Nix prints "Failed to find a machine for remote build!"'}.`;
  return { selection, text: `${head}\n${lines.join('\n')}\n` };
}
