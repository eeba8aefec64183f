// One build on remote, the same for the editor and for `nix-builders build`: the derivation is
// already known (the plan evaluated it once); this hands it to Nix over the machines left for a
// distributed build, or offloads it to one machine, and answers with the protocol's
// BuildOutcome. The callers decide which machines there are and how the log is shown; the
// steps, their order and the words of every refusal are here.
import type { NixTarget } from '../context/target';
import { lintMachine } from '../model/lint/index';
import type { Machine } from '../model/machines';
import { unusableReason } from '../model/usableMachine';
import type { BuildOutcome } from '../protocol';
import type { AskPassphrase } from '../ssh/keyring';
import type { ConnectionPool } from '../ssh/pool';
import { buildDistributed } from './distributed';
import { buildForUntrustedUser } from './untrustedBuild';
import { leftOutInWords, nothingLeftMessage, type DistributedMachines } from './distributedMachines';
import { localBuildSettings } from './buildSettings';
import { offload, type OffloadPhase } from './offload';
import { alreadyBuilt, builtByNix, builtOnMachine } from './outcomeWords';
import { candidateOf, type Candidate } from './select';

/** Where the build goes: one machine, none (and why), or every machine left for Nix. */
export type BuildPlace =
  | { machine: Machine }
  | { none: string }
  /** The machines a distributed build may hand to Nix (the caller probes as it must). */
  | { distributed: () => Promise<DistributedMachines> };

export interface BuildRequest {
  buildId: string;
  drvPath: string;
  on: BuildPlace;
  /** The machine the user named (its URI), where they picked one; absent for Nix's choice. */
  picked?: string;
  /** The Nix followed here: the lint that refuses a machine reads its rules. */
  target: NixTarget;
  sshConfigFile: string | undefined;
  /** Local builds go through a nix-daemon. */
  daemon: boolean;
  pool: ConnectionPool;
  askPassphrase?: AskPassphrase;
  signal: AbortSignal;
  onLog: (line: string) => void;
  onPhase: (phase: OffloadPhase, detail: string) => void;
  /** When the build was asked for (its evaluation included), for the outcome's `ms`. */
  started: number;
}

/** A build that did not happen or failed, as the protocol carries it. */
export function failedBuild(
  buildId: string,
  started: number,
  cause: string,
  message: string,
  logTail: string[] = [],
): BuildOutcome {
  return { buildId, ok: false, builtOn: undefined, outputs: [], cause, message, logTail, ms: Date.now() - started };
}

/** A build that succeeded; `where` says who built what (outcomeWords.ts), in the outcome's time. */
function succeeded(
  buildId: string,
  started: number,
  where: (ms: number) => ReturnType<typeof alreadyBuilt>,
  outputs: { name: string; path: string }[],
): BuildOutcome {
  const ms = Date.now() - started;
  return { buildId, ok: true, ...where(ms), outputs, cause: undefined, message: undefined, logTail: [], ms };
}

/**
 * A machine as the selector sees it for a build: one the lint marks unusable (shell code in its
 * settings, a local store, …) counts as down, so the next best is chosen; so does one whose
 * last check failed (`lastCheckFailed` says why).
 */
export function buildCandidate(
  id: string,
  machine: Machine,
  target: NixTarget,
  load = 0,
  lastCheckFailed?: string,
): Candidate {
  const unusable = unusableReason(machine, lintMachine(machine, target));
  const down = unusable !== undefined ? `refused (${unusable.code}): ${unusable.reason}` : lastCheckFailed;
  return candidateOf(id, machine, load, down);
}

/** No machine was chosen: the derivation's system, and why not for each machine. */
export function noMachineFits(system: string, machines: readonly { label: string; reason: string }[]): string {
  const why = machines.map((m) => `${m.label}: ${m.reason}`).join('; ');
  return `no machine fits ${system}${why ? ` (${why})` : ''}`;
}

export async function runBuild(request: BuildRequest): Promise<BuildOutcome> {
  const { buildId, started, onLog: log } = request;
  const fail = (cause: string, message: string, logTail?: string[]) =>
    failedBuild(buildId, started, cause, message, logTail);
  const sshConfigFile = request.sshConfigFile ? { sshConfigFile: request.sshConfigFile } : {};
  // Behind a nix-daemon that does not trust this user, our offload would build and then fail at
  // the import (missing-signature): Nix's choice goes through the daemon's own builders instead,
  // a picked machine is refused before anything runs. Asked only where builds go through a daemon.
  const throughDaemon = async (on: 'best' | { uri: string }): Promise<BuildOutcome | undefined> => {
    if (!request.daemon) return undefined;
    const untrusted = await buildForUntrustedUser({ drvPath: request.drvPath, on, signal: request.signal, onLog: log });
    if (untrusted === undefined) return undefined;
    return untrusted.ok
      ? succeeded(buildId, started, (ms) => builtByNix(untrusted.builtOn, ms, 'the nix-daemon'), untrusted.outputs)
      : fail(untrusted.cause, untrusted.message, untrusted.logTail);
  };

  if ('distributed' in request.on) {
    const chosen = await request.on.distributed();
    for (const line of leftOutInWords(chosen.leftOut)) log(line);
    const leftOut = chosen.leftOut.length > 0 ? { leftOut: chosen.leftOut } : {};
    if (chosen.used.length === 0) {
      // None of ours is left, but an untrusted user's build runs on the daemon's builders anyway.
      const daemons = await throughDaemon('best');
      return { ...(daemons ?? fail('no-machine', nothingLeftMessage(chosen.leftOut))), ...leftOut };
    }
    log(
      `Handing ${chosen.used.length} ${chosen.used.length === 1 ? 'builder' : 'builders'} to Nix: ${chosen.used.map((m) => m.storeUri).join(', ')}`,
    );
    const result = await buildDistributed({
      drvPath: request.drvPath,
      builders: chosen.text,
      ...sshConfigFile,
      signal: request.signal,
      onLog: log,
    });
    if (!result.ok)
      return {
        ...fail(request.signal.aborted ? 'cancelled' : 'build-failed', result.message, result.logTail),
        ...leftOut,
      };
    return { ...succeeded(buildId, started, (ms) => builtByNix(result.builtOn, ms), result.outputs), ...leftOut };
  }

  const daemons = await throughDaemon(request.picked === undefined ? 'best' : { uri: request.picked });
  if (daemons !== undefined) return daemons;
  if ('none' in request.on) return fail('no-machine', request.on.none);
  const { machine } = request.on;
  // Picked by hand, a machine the lint refuses is still never built on.
  const unusable = unusableReason(machine, lintMachine(machine, request.target));
  if (unusable !== undefined)
    return fail('machine-unusable', `${machine.storeUri} is not used (${unusable.code}): ${unusable.reason}`);
  log(`Building ${request.drvPath} on ${machine.storeUri}`);
  // What Nix's hook takes from this machine's nix.conf for the build (buildSettings.ts).
  const { useSubstitutes, ...buildOptions } = localBuildSettings(request.target);
  const result = await offload({
    machine,
    drvPath: request.drvPath,
    pool: request.pool,
    useSubstitutes,
    buildOptions,
    ...sshConfigFile,
    daemon: request.daemon,
    portInUri: request.target.rules.portInUri,
    ...(request.askPassphrase ? { askPassphrase: request.askPassphrase } : {}),
    signal: request.signal,
    onLog: log,
    onPhase: request.onPhase,
  });
  if (!result.ok) return fail(result.cause, result.message, result.logTail);
  return succeeded(
    buildId,
    started,
    (ms) => (result.alreadyHere ? alreadyBuilt() : builtOnMachine(machine.storeUri, ms)),
    result.outputs,
  );
}
