// What the server answers, instead of running anything, when the workspace is not trusted.
// The client checks trust too, but the server is where Nix, ssh and builds run, and any LSP
// client can send it requests: a `.nix` file of an untrusted folder must not be evaluated
// (import-from-derivation builds and runs code at evaluation time), its machines must not be
// connected to, and its ssh config must not reach `ssh -G` (`Match exec` runs commands).
// Each refusal is a value of the request's own result type, never an exception.
import type { BuildOutcome, BuildPlan, StartBuildParams } from './protocol';

export const untrustedMessage =
  'This workspace is not trusted: Nix evaluation, SSH connections and builds are off until you trust it.';

/** planBuild: no `nix-instantiate` / `nix path-info` of the workspace's files. */
export function untrustedPlan(): BuildPlan {
  return { ok: false, error: untrustedMessage };
}

/** startBuild: no evaluation, no connection, no build. */
export function untrustedBuild(params: StartBuildParams): BuildOutcome {
  return {
    buildId: params.buildId,
    ok: false,
    builtOn: undefined,
    outputs: [],
    cause: 'untrusted-workspace',
    message: untrustedMessage,
    logTail: [],
    ms: 0,
  };
}
