// The one-click build for a user the nix-daemon does not trust. Our offload would build on the
// builder and then fail at the end: the daemon refuses outputs from an untrusted user unless a
// key it trusts signed them (missing-signature). So we never start that build. "Build on the
// best machine" goes through the daemon with Nix's own remote builds instead (-j0: the daemon
// picks among *its* builders and imports what they build itself), with the live log and
// progress of --log-format internal-json (dispatch/distributed.ts); "build on a machine I pick"
// says plainly that it needs trust, and how to get it.
import type { LocalMachineInfo } from '../protocol';
import { localMachine } from '../localMachine/localMachine';
import { buildDistributed, type DistributedProgress } from './distributed';

export type UntrustedBuildResult =
  | { ok: true; builtOn: Record<string, string>; outputs: { name: string; path: string }[]; ms: number }
  | { ok: false; cause: string; message: string; logTail: string[] };

export interface UntrustedBuildInput {
  drvPath: string;
  /** `best` (Nix's choice), or the machine the user picked (its URI, for the message). */
  on: 'best' | { uri: string };
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  onProgress?: (progress: DistributedProgress) => void;
  /** This machine as localMachine/ sees it (default: detected once per process). */
  local?: LocalMachineInfo;
}

/** Undefined where our own offload can deliver (single-user, or a trusting daemon): build as usual. */
export async function buildForUntrustedUser(input: UntrustedBuildInput): Promise<UntrustedBuildResult | undefined> {
  const local = input.local ?? (await localMachine());
  if (local.mode !== 'daemon' || local.trusted !== false) return undefined;
  if (input.on !== 'best') {
    return {
      ok: false,
      cause: 'untrusted-user',
      message: `Building on a machine you pick needs trust: the nix-daemon does not trust ${local.user} (${local.trustedBy}), so it would refuse the outputs ${input.on.uri} builds (no key it trusts signs them), and nothing was started. Add \`extra-trusted-users = ${local.user}\` to /etc/nix/nix.conf and restart the nix-daemon (sudo systemctl restart nix-daemon), or build on the best machine: the daemon then picks among its own builders.`,
      logTail: [],
    };
  }
  const result = await buildDistributed({
    drvPath: input.drvPath,
    builders: '',
    localMachine: local,
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.onLog ? { onLog: input.onLog } : {}),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  if (!result.ok)
    return {
      ok: false,
      cause: result.cancelled ? 'cancelled' : 'build-failed',
      message: result.message,
      logTail: result.logTail,
    };
  // Each derivation → the daemon's builder that built it (none: the outputs were here already).
  return { ok: true, builtOn: result.builtOn, outputs: result.outputs, ms: result.ms };
}
