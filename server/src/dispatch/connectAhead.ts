// Connecting while Nix evaluates: the login (ssh -G, TCP, the handshake, the key) does not
// depend on the derivation, only on the machine it will go to, and that is nearly always the
// one Nix would pick for a derivation of this machine's own system with no required features
// (builtins.currentSystem). So a build that will offload starts that connection the moment it
// knows its machines, the evaluation running meanwhile, and the offload then finds it in the
// pool (or joins the connect still in flight). A wrong guess costs one login to a configured
// builder, whose host key is verified as always; the lease is let go when the build ends, and
// the pool closes the connection when idle. Never ahead:
//   - a machine the lint refuses (it is never connected to, guessed or not);
//   - under a nix-daemon: a user it does not trust builds through the daemon's builders and
//     connects to none of ours (untrustedBuild.ts), which is only known after asking it;
//   - with a passphrase to type: no prompt for a build whose evaluation may still fail (a key
//     that needs one fails here, silently, and the offload connects and asks as before).
import { lintMachine } from '../model/lint/index';
import type { Machine } from '../model/machines';
import { unusableReason } from '../model/usableMachine';
import type { NixTarget } from '../context/target';
import { acquireMachine } from '../ssh/machineConnection';
import type { ConnectionPool, Lease } from '../ssh/pool';
import { buildCandidate } from './runBuild';
import { selectMachine } from './select';

export interface ConnectAheadOptions {
  pool: ConnectionPool;
  target: NixTarget;
  sshConfigFile: string | undefined;
  /** Local builds go through a nix-daemon: nothing is connected ahead (see above). */
  daemon: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * Stops a connect still in flight once nothing will use it (the CLI's command ended: an
   * evaluation error must not wait for an unreachable builder's timeout). Only where nobody
   * else can have joined it by then.
   */
  signal?: AbortSignal;
}

/** Which machine a derivation of this machine's system, needing no feature, goes to. */
export function likelyMachine(
  machines: readonly { machine: Machine; load?: number; down?: string }[],
  target: NixTarget,
): Machine | undefined {
  const candidates = machines.map((m, index) => buildCandidate(String(index), m.machine, target, m.load, m.down));
  const chosen = selectMachine(candidates, { system: target.localSystem, requiredFeatures: [] }, target.rules).chosen;
  return chosen === undefined ? undefined : machines[Number(chosen.id)]!.machine;
}

/**
 * Starts connecting to `machine` now, into the pool. The returned function lets the early lease
 * go (call it once the build has its own, or is over): idempotent, and a no-op when nothing
 * was started or the connect failed.
 */
export function connectAhead(machine: Machine | undefined, options: ConnectAheadOptions): () => void {
  if (machine === undefined || options.daemon) return () => undefined;
  if (unusableReason(machine, lintMachine(machine, options.target)) !== undefined) return () => undefined;
  let lease: Lease | undefined;
  let released = false;
  void acquireMachine(options.pool, machine, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.sshConfigFile === undefined ? {} : { sshConfigFile: options.sshConfigFile }),
    ...(options.target.rules.portInUri ? { portInUri: true } : {}),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    tentative: true,
  }).then(
    (result) => {
      if (!result.ok) return;
      if (released) result.lease.release();
      else lease = result.lease;
    },
    () => undefined,
  );
  return () => {
    released = true;
    lease?.release();
    lease = undefined;
  };
}
