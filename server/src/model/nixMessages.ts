// Messages Nix prints that our warnings quote and that the build reads, in each version's words.
// Which words a version uses comes from its `VersionRules` (rows of nixVersion.ts); here are
// the words, and how to find a quoted message in what Nix printed.

import type { VersionRules } from './nixVersion';

/**
 * What Nix fails with when max-jobs = 0 and no machine can take a derivation it could build
 * itself. `…` stands for the derivation's path, which only the build knows.
 */
export function noBuildMessage(rules: VersionRules): string {
  if (rules.noBuildErrorNamesReason) return "Cannot build '…'. Reason: local builds are disabled (max-jobs = 0)";
  if (rules.noBuildErrorCapitalised) return "Unable to start any build; either increase '--max-jobs' or enable remote builds.";
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
 * True when `printed` (Nix's output) contains `quoted` (a message as our warnings quote it):
 * `…` in `quoted` stands for text within one line (a path), and any run of white space for any
 * run of white space (Nix 2.21-2.29 lay messages out over indented lines; 2.34 puts the
 * `Reason:` on a line of its own). Escape colours are ignored.
 */
export function nixPrinted(quoted: string, printed: string): boolean {
  const pattern = quoted
    .split(/(\s+|…)/)
    .filter((piece) => piece !== '')
    .map((piece) => (piece === '…' ? "[^\\n]*?" : /^\s+$/.test(piece) ? '\\s+' : piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  // eslint-disable-next-line no-control-regex
  return new RegExp(pattern).test(printed.replace(/\x1b\[[0-9;]*m/g, ''));
}

/**
 * A Nix that cannot build a derivation itself (the wrong system, missing features), in every
 * version's words: 2.8's `a '<system>' with features {…} is required to build '…', but I am a
 * '<system>' with features {…}`; 2.30's `Cannot build '…'.` with `Reason: required system or
 * feature not available` on the next line; 2.34's `Reason: platform mismatch` / `missing system
 * features` (NixOS/nix b04962b33b, 2.30.0; 7cd4359a8b, 2.34.0).
 */
export const cannotBuildHereWords =
  /is required to build '[^']*', but I am a|Cannot build '[^']*'\.\s*(?:\n.*)*?Reason: (?:required system or feature not available|platform mismatch|missing system features)/;

/** The `Reason: …` line of a 2.30+ `Cannot build '…'.` error, without its colours; undefined before 2.30. */
export function cannotBuildReason(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  return /^\s*Reason: (.*)$/m.exec(text.replace(/\x1b\[[0-9;]*m/g, ''))?.[1]?.trim();
}
