// `build --distributed` on the command line: which machines go to Nix. The same rule as the
// editor's BuildOnRemote (dispatch/distributedMachines.ts): the lint-unusable ones and the lines
// Nix rejects are left out without connecting anywhere; the others are probed first, as
// `nix-builders ping` probes them, and the down ones are left out too. runBuild says each
// left-out machine on stderr with its code and reason.
import { probeMachines } from '../health/probe';
import { lintMachine } from '../model/lint/index';
import { unusableReason } from '../model/usableMachine';
import {
  checkOf,
  machinesForDistributed,
  type DistributedCandidate,
  type DistributedMachines,
} from '../dispatch/distributedMachines';
import type { ChosenMachines } from './machinesOption';

export async function distributedChoice(
  chosen: ChosenMachines,
  sshConfigFile: string | undefined,
  log: (line: string) => void,
): Promise<DistributedMachines> {
  const all = [...chosen.machines, ...chosen.rejected];
  const usable = all.filter((m) => unusableReason(m, lintMachine(m, chosen.target)) === undefined);
  if (usable.length > 0)
    log(`Checking ${usable.length} ${usable.length === 1 ? 'builder' : 'builders'} before handing them to Nix…`);
  const results = await probeMachines(usable, {
    ...(sshConfigFile ? { sshConfigFile } : {}),
    daemon: chosen.local.daemon,
    portInUri: chosen.target.rules.portInUri,
  });
  const candidates: DistributedCandidate[] = all.map((machine) => {
    const index = usable.indexOf(machine);
    return index < 0 ? { machine } : { machine, health: checkOf(results[index]) };
  });
  return machinesForDistributed(candidates, chosen.target);
}
