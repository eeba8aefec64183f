// One connection to a machine as Nix would make it, outside any pool: the tests that drive a
// connection by hand (exec, timeouts) use the product's own two steps, resolve then connect.
import {
  connectResolved,
  resolveMachine,
  type MachineConnectOptions,
  type MachineTarget,
} from '../../server/src/ssh/machineConnection';
import type { ConnectResult } from '../../server/src/ssh/connect';

export async function connectMachine(
  target: MachineTarget,
  options: MachineConnectOptions = {},
): Promise<ConnectResult> {
  const resolved = await resolveMachine(target, options);
  if (!resolved.ok) return { ok: false, failure: resolved.failure, stages: [] };
  return connectResolved(resolved, options);
}
