// A problem found in a .nix file: either one of the machines-file checks, found in the line
// NixOS renders and placed on the attribute that wrote that part of the line, or one of the
// module's own (its assertion, its option types, `distributedBuilds`). Codes of the first kind
// are those of model/problem.ts; the module's own start with `nixos-`.
import type { ProblemData, Severity, Span } from '../model/problem';

/** A quick fix: put `newText` in place of `span` of the .nix file. */
export interface NixModuleFix {
  title: string;
  span: Span;
  newText: string;
  /** The file the fix edits when it is not the one with the problem (the builder's configuration), with its text. */
  in?: { uri: string; text: string };
}

export interface NixModuleProblem {
  code: string;
  severity: Severity;
  message: string;
  /** In the .nix file. */
  span: Span;
  data?: ProblemData;
  fix?: NixModuleFix;
}

/** The module's own problems: codes and severities (error exactly when the system does not build). */
const moduleProblemSeverities = {
  /** Neither `system` nor `systems`: the module's assertion fails the build of the system. */
  'nixos-no-system': 'error',
  /** No `hostName`: the option is used but not defined. */
  'nixos-host-name-missing': 'error',
  /** An attribute the submodule does not have (`hostname`): the option does not exist. */
  'nixos-unknown-attribute': 'error',
  /** A value of the wrong type (`sshKey = /root/.ssh/id;`, a path): the option's type check fails. */
  'nixos-wrong-type': 'error',
  /** `protocol` other than "ssh", "ssh-ng" or null. */
  'nixos-protocol': 'error',
  /** `nix.distributedBuilds = false`: the machines file is written, and no build uses it. */
  'nixos-distributed-builds-off': 'warning',
  /** `nix.distributedBuilds` is not set in this file: off unless another module sets it. */
  'nixos-distributed-builds-unset': 'information',
  /** `sshUser` is not in the trusted-users of the builder's own configuration (in the workspace). */
  'nixos-ssh-user-untrusted': 'warning',
  /** `sshUser` is not listed there, and whether it is in a listed `@group` is not known. */
  'nixos-ssh-user-trust-unknown': 'information',
  /** Both `system` and `systems`: `system` wins, `systems` is ignored. */
  'nixos-systems-ignored': 'warning',
  /** The machines file NixOS generated here differs from what the file declares: not an error, a state (rebuildToApply.ts). */
  'nixos-rebuild-to-apply': 'information',
} as const satisfies Record<string, Severity>;

export type ModuleProblemCode = keyof typeof moduleProblemSeverities;

export function moduleProblem(
  code: ModuleProblemCode,
  span: Span,
  message: string,
  fix?: NixModuleFix,
): NixModuleProblem {
  const found: NixModuleProblem = { code, severity: moduleProblemSeverities[code], message, span };
  if (fix !== undefined) found.fix = fix;
  return found;
}

/** `value` as a Nix string literal: `"`, `\` and `${` escaped. */
export function nixStringLiteral(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\$\{/g, '\\${')}"`;
}
