// The words of the builder's Nix that findings quote, in that Nix's version (the probe learns it
// from `nix-store --version`), so the user finds the message they will see in the log. Read from
// the source of each version (NixOS/nix mirror) and held against the lab's real 2.8 and 2.34
// builders (test/system/finding-words.test.ts). `…` stands for a path or a list only the build knows.
//
// The same in 2.8.0, 2.26.3 and 2.34.8, so written as they are in findings.ts:
//   "you are not privileged to build input-addressed derivations" (daemon.cc), and the client's
//   shell-noise words "'nix-store --serve' protocol mismatch from '<host>', got '…'" and
//   "protocol mismatch, got '…'" (real clients 2.8, 2.26.3 and 2.34.8 against the lab's noisy
//   builder print exactly these).
import { compareNixVersions, parseNixVersion, type NixVersion } from '../model/nixVersion';

const since = (version: NixVersion | undefined, major: number, minor: number) =>
  version !== undefined && compareNixVersions(version, { major, minor, patch: 0 }) >= 0;

/**
 * A path nobody it trusts signed, as the builder's Nix refuses it. 2.12 renamed "valid
 * signature" to "signature by a trusted key" (a2a8cb10ac, "Dodge "trusted" vs "trustworthy" by
 * being explicit"): 2.26.3 and 2.34.8 local-store.cc say the latter.
 */
export function unsignedPathWords(builderNix: string | undefined): string {
  const version = builderNix === undefined ? undefined : parseNixVersion(builderNix);
  return since(version, 2, 12)
    ? "cannot add path '…' because it lacks a signature by a trusted key"
    : "cannot add path '…' because it lacks a valid signature";
}

/**
 * A derivation for a system (or with features) the builder's Nix cannot build, as it refuses
 * it. Before 2.30 (2.8.0 and 2.26.3 local-derivation-goal.cc): "a '…' with features {…} is
 * required to build '…', but I am a '…' with features {…}". 2.30 to 2.33 (b04962b33b, "Make
 * platform checks throw BuildError like other failures"): "Cannot build '…'." and "Reason:
 * required system or feature not available". From 2.34 (7cd4359a8b, "libstore: structured
 * diagnostics for local build rejection"; 2.34.8 derivation-building-goal.cc) the reason says
 * which: "platform mismatch" or "missing system features".
 */
export function cannotBuildWords(builderNix: string | undefined, missing: 'system' | 'features'): string {
  const version = builderNix === undefined ? undefined : parseNixVersion(builderNix);
  if (since(version, 2, 34))
    return `Cannot build '…'. Reason: ${missing === 'system' ? 'platform mismatch' : 'missing system features'}`;
  if (since(version, 2, 30)) return "Cannot build '…'. Reason: required system or feature not available";
  return "a '…' with features {…} is required to build '…', but I am a '…' with features {…}";
}
