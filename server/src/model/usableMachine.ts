// Which machines this extension refuses to hand to anyone (Nix's own remote builds, our probe,
// our offload): the ones whose line the lint marks unusable. Nix accepts these lines, and then
// runs shell code on the builder (shell-in-store-setting), builds in a store on this machine
// as root (store-uri-unusable: `-oProxyCommand=…/x` is a directory here), or hands ssh an
// option for a host name (host-starts-with-dash). One list, so every build path refuses the same.

import type { Machine } from './machines';
import type { Problem, ProblemCode } from './problem';

/** Lint codes that make a machine unusable for every build. */
export const refusedCodes: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'shell-in-store-setting',
  'store-uri-unusable',
  'host-starts-with-dash',
  'include-after-space',
]);

/** Why a machine is not used: a stable code and the sentence for the user. */
export interface Unusable {
  code: ProblemCode | 'invalid-line';
  reason: string;
}

/**
 * Why `machine` must not be used, or undefined when it may be. `problems` are the machine's
 * own lint problems (`lintMachine`); the first refused one is the reason.
 */
export function unusableReason(machine: Machine, problems: readonly Problem[]): Unusable | undefined {
  if (!machine.valid) {
    return {
      code: 'invalid-line',
      reason: `Nix rejects this line ('${machine.row.trim()}'), and with it the whole builders text. Fix the line first (\`nix-builders check\` says how).`,
    };
  }
  const refused = problems.find((p) => refusedCodes.has(p.code));
  return refused === undefined ? undefined : { code: refused.code, reason: refused.message };
}
