// What a finished build says happened, in the words the notification, the build terminal and
// `nix-builders build` all print: built on one machine, built by Nix over several, or nothing
// to do because the outputs were in the local store already (then no builder was contacted, so
// naming one, perhaps a dead one, would be false).
import type { BuildOutcome } from '../protocol';

type Built = Pick<BuildOutcome, 'builtOn' | 'builtBy' | 'summary'>;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The outputs were valid here before anything ran: no machine built anything. */
export function alreadyBuilt(): Built {
  return {
    builtOn: undefined,
    builtBy: [],
    summary: 'Already built: nothing to do (the outputs were in the local store).',
  };
}

/** Our offload: one machine built the derivation. */
export function builtOnMachine(uri: string, ms: number): Built {
  return { builtOn: uri, builtBy: [{ uri, derivations: 1 }], summary: `Built on ${uri} in ${seconds(ms)}.` };
}

/**
 * Nix's own remote builds: `builtOn` maps each derivation Nix built to its machine (from the
 * internal-json log); none means every output was valid already. `by` names who handed them out
 * ("Nix", "the nix-daemon").
 */
export function builtByNix(builtOn: Readonly<Record<string, string>>, ms: number, by = 'Nix'): Built {
  const counts = new Map<string, number>();
  for (const uri of Object.values(builtOn)) counts.set(uri, (counts.get(uri) ?? 0) + 1);
  if (counts.size === 0) return alreadyBuilt();
  const builtBy = [...counts].map(([uri, derivations]) => ({ uri, derivations }));
  const each = builtBy
    .map((b) => `${b.uri}: ${b.derivations} ${b.derivations === 1 ? 'derivation' : 'derivations'}`)
    .join(', ');
  const summary =
    builtBy.length === 1
      ? `Built by ${by} on ${builtBy[0]!.uri} in ${seconds(ms)} (${each.slice(builtBy[0]!.uri.length + 2)}).`
      : `Built by ${by} over ${builtBy.length} builders in ${seconds(ms)} (${each}).`;
  return { builtOn: builtBy.length === 1 ? builtBy[0]!.uri : undefined, builtBy, summary };
}
