// The machines a distributed build hands to Nix (`nix-build --builders <text>`), and the ones it
// leaves out with the reason. Nix's own remote builds run `remote-program` through the
// builder's shell and open a local store for a line it cannot read as ssh, so the lint's
// verdict (model/usableMachine.ts) is applied here before Nix sees anything; so is the last
// probe, where there is one. The text given to Nix is written from the parsed columns
// (model/machineLine.ts), never the user's raw row. Used by the server's BuildOnRemote and by
// `nix-builders build --distributed`.

import { lintMachine, type LintContext } from '../model/lint/index';
import { buildersTextOf } from '../model/machineLine';
import type { Machine } from '../model/machines';
import { unusableReason } from '../model/usableMachine';

/** What the last health probe said about a machine. */
export type MachineCheck =
  | { status: 'up' | 'degraded' }
  | { status: 'down'; why: string }
  /** Never probed (or the probe gave no answer), where a probe is expected. */
  | { status: 'unchecked' };

export interface DistributedCandidate {
  machine: Machine;
  /** Undefined where no probe is expected (the CLI): then only the lint decides. */
  health?: MachineCheck;
}

/** A machine not handed to Nix. */
export interface LeftOut {
  /** The store URI, as the user knows the machine. */
  uri: string;
  /** A lint code, `invalid-line`, `line-not-reread`, `builder-down` or `builder-unchecked`. */
  code: string;
  reason: string;
}

export interface DistributedMachines {
  /** The builders text for Nix: one canonical line per used machine. Empty when none is left. */
  text: string;
  used: Machine[];
  leftOut: LeftOut[];
}

export function machinesForDistributed(
  candidates: readonly DistributedCandidate[],
  context: LintContext & { localSystem?: string },
): DistributedMachines {
  const leftOut: LeftOut[] = [];
  const kept: Machine[] = [];
  for (const { machine, health } of candidates) {
    const unusable = unusableReason(machine, lintMachine(machine, context));
    if (unusable !== undefined) leftOut.push({ uri: machine.storeUri, code: unusable.code, reason: unusable.reason });
    else if (health?.status === 'down')
      leftOut.push({
        uri: machine.storeUri,
        code: 'builder-down',
        reason: `its last check failed: ${health.why}. Fix it (see the Remote Builders view or \`nix-builders ping\`), then build again.`,
      });
    else if (health?.status === 'unchecked')
      leftOut.push({
        uri: machine.storeUri,
        code: 'builder-unchecked',
        reason:
          'it could not be checked before the build, and an unchecked machine is not handed to Nix. Check it in the Remote Builders view.',
      });
    else kept.push(machine);
  }
  const written = buildersTextOf(kept, context.rules, context.localSystem);
  for (const { machine, code, reason } of written.refused) leftOut.push({ uri: machine.storeUri, code, reason });
  return { text: written.text, used: written.accepted, leftOut };
}

/** What a probe found (a ProbeResult or the server's MachineHealth), as the distributed build reads it. */
export function checkOf(
  health: { status: string; findings: readonly { severity: string; title: string; code: string }[] } | undefined,
): MachineCheck {
  if (health === undefined || (health.status !== 'up' && health.status !== 'degraded' && health.status !== 'down'))
    return { status: 'unchecked' };
  if (health.status !== 'down') return { status: health.status };
  const error = health.findings.find((f) => f.severity === 'error');
  return { status: 'down', why: error === undefined ? 'down' : `${error.title} (${error.code})` };
}

/** One log line per machine left out: `Left out <uri> (<code>): <reason>`. */
export function leftOutInWords(leftOut: readonly LeftOut[]): string[] {
  return leftOut.map((l) => `Left out ${l.uri} (${l.code}): ${l.reason}`);
}

/** The message when no machine is left: every machine with its reason. */
export function nothingLeftMessage(leftOut: readonly LeftOut[]): string {
  if (leftOut.length === 0) return 'No builders are configured, and with -j0 nothing may build locally. Add a builder.';
  return `No builder is left for a distributed build: ${leftOut.map((l) => `${l.uri} (${l.code}): ${l.reason}`).join(' ')}`;
}
