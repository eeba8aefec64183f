// Messages Nix prints that our warnings quote and that the build reads, in each version's words.
// Which words a version uses comes from its `VersionRules` (rows of nixVersion.ts); here are
// the words (test/unit/helpers/nixOutput.ts finds a quoted message in what Nix printed).

import type { VersionRules } from './nixVersion';

/**
 * What Nix fails with when max-jobs = 0 and no machine can take a derivation it could build
 * itself. `…` stands for the derivation's path, which only the build knows.
 */
export function noBuildMessage(rules: VersionRules): string {
  if (rules.noBuildErrorNamesReason) return "Cannot build '…'. Reason: local builds are disabled (max-jobs = 0)";
  if (rules.noBuildErrorCapitalised)
    return "Unable to start any build; either increase '--max-jobs' or enable remote builds.";
  return "unable to start any build; either increase '--max-jobs' or enable remote builds.";
}

/**
 * Nix could not hand a derivation to any machine, in the words of every version: 2.8's
 * `unable to start any build; …`, 2.21's `Unable to start any build; …`, the build hook's
 * `Failed to find a machine for remote build!`, 2.30's `Reason: required system or feature not
 * available`, and 2.34's `Reason: platform mismatch` / `missing system features` / `local
 * builds are disabled (max-jobs = 0)`.
 */
export const noMachineWords =
  /unable to start any build|Failed to find a machine for remote build|Reason: (?:required system or feature not available|platform mismatch|missing system features|local builds are disabled)/i;

/**
 * A Nix that cannot build a derivation itself (the wrong system, missing features), in every
 * version's words: 2.8's `a '<system>' with features {…} is required to build '…', but I am a
 * '<system>' with features {…}`; 2.30's `Cannot build '…'.` with `Reason: required system or
 * feature not available` on the next line; 2.34's `Reason: platform mismatch` / `missing system
 * features` (NixOS/nix b04962b33b, 2.30.0; 7cd4359a8b, 2.34.0).
 */
export const cannotBuildHereWords =
  /is required to build '[^']*', but I am a|Cannot build '[^']*'\.\s*(?:\n.*)*?Reason: (?:required system or feature not available|platform mismatch|missing system features)/;
