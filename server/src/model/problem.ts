// Where something is in a text, and what is wrong with it. Shared by every parser in model/.
// Spans are plain offsets (not LSP ranges) so the model stays free of any editor type: the
// language server turns them into ranges with the document it already holds.

/** A stretch of a text: `start` is the first character, `end` is one past the last. */
export interface Span {
  start: number;
  end: number;
}

/** The design's severity rule: `error` exactly when the targeted Nix rejects the text. */
export type Severity = 'error' | 'warning' | 'information' | 'hint';

/**
 * Every problem the model reports, with its severity. A table so the language layer, the docs
 * and the tests read the same list; the codes are stable (users may filter on them).
 */
export const problemSeverities = {
  /** A machine entry whose first column is `-`: Nix has no store URI for it. */
  'store-uri-missing': 'error',
  /** An entry of nothing but whitespace (Nix < 2.29 does not skip it). */
  'empty-entry': 'error',
  /** Column 4 (maxJobs) is not an unsigned integer. */
  'max-jobs-not-integer': 'error',
  /** Column 5 (speedFactor) is not a number of the kind this Nix reads, or is negative. */
  'speed-factor-invalid': 'error',
  /** Column 8 (public host key) is not base64. */
  'host-key-not-base64': 'error',
  'store-uri-not-a-url': 'error',
  /** An `@file` exists but cannot be read (a directory, no permission). */
  'include-unreadable': 'error',
  /** An `@file` includes itself, directly or through others: Nix recurses until it overflows. */
  'include-cycle': 'error',
  /** An `@file` or `include` is a FIFO or a device: never opened (Nix hangs on it, or reads it without end). */
  'include-not-a-file': 'warning',
  /** An `@file` or `include` is over the size we read (16 MiB): not checked. Nix reads it. */
  'include-too-large': 'warning',
  /** More problems than are published for one document: how many more, and how to see them all. */
  'too-many-problems': 'information',
  /** Includes expand to so many entries that we stopped (Nix would keep going). */
  'include-expansion-limit': 'warning',
  /** nix.conf: a line Nix cannot read (`name = value`, `include PATH`, `!include PATH`). */
  'conf-illegal-line': 'error',
  /** nix.conf: `include PATH` names a file that does not exist. */
  'conf-include-missing': 'error',
  /** nix.conf: an `include` leads back to a file being read: Nix crashes. */
  'conf-include-cycle': 'error',
  /** nix.conf: `extra-builders` is not a setting (`builders` cannot be appended to). */
  'extra-builders-ignored': 'warning',

  // What Nix lets through without a word and then goes wrong (model/lint/). Nix accepts the
  // text, so these are warnings, except where said.

  /** A system in column 2 nobody builds for (`x86-64-linux`): no derivation ever matches it. Data: `suggestion` when one is near. */
  'unknown-system': 'warning',
  /** Column 4 (maxJobs) is 0: the machine has no job slots, so Nix never uses it. */
  'max-jobs-zero': 'warning',
  /** Column 5 (speedFactor) is 0: Nix silently makes it 1. */
  'speed-factor-zero': 'warning',
  /** Column 5 is not a whole number: fine for the targeted Nix (≥ 2.20), an error on older Nix. */
  'speed-factor-fraction': 'information',
  /** Column 8 is the bare `AAAA…` key, not base64 of the key line: Nix takes it, ssh refuses the host. Data: `suggestion`, the wrapped form. */
  'host-key-raw': 'warning',
  /** Column 8 is base64 of a known_hosts line (`host type AAAA…`, what ssh-keyscan prints): Nix adds the host itself, so ssh misreads it. Data: `suggestion`, base64 of the key line alone. */
  'host-key-with-host': 'warning',
  /** Column 8 is base64 but decodes to something that is not an SSH public key line. */
  'host-key-not-a-key': 'warning',
  /** A value shaped like another column's (`4` as the SSH key): a column left out before it shifts the rest. Data: `suggestion`, the value with the missing `-` in front, when inserting them makes every later column fit. */
  'column-missing': 'warning',
  /** Columns after the eighth: Nix ignores them. */
  'extra-columns': 'warning',
  /** An `@file` that does not exist: Nix skips it, so no builders come from it. Data: `path`, for a "create file" fix. */
  'include-missing': 'warning',
  /** Column 3 (SSH key) names a file that does not exist. */
  'ssh-key-missing': 'warning',
  /** Column 3 names a file that cannot be read (a directory, no permission). */
  'ssh-key-unreadable': 'warning',
  /** Column 3 names a key with a passphrase: ssh under Nix cannot ask for it. */
  'ssh-key-encrypted': 'warning',
  /** Column 3 names a file that is not an SSH private key (often the `.pub`). */
  'ssh-key-not-private': 'warning',
  /** Column 3 names a key others can read: ssh ignores it ("bad permissions"). */
  'ssh-key-permissions': 'warning',
  /** Column 3 is not an absolute path: from Nix 2.34 Nix refuses to connect (`not an absolute path: "…"`). Data: `suggestion`, the `~` path expanded. */
  'ssh-key-relative': 'warning',
  /** The same store URI on two entries: they share job slots and are tried one after the other. Data: `related`, the first entry. */
  'duplicate-machine': 'warning',
  /** A host (or `user@host`) starting with `-`: Nix (or ssh) refuses to connect. */
  'host-starts-with-dash': 'warning',
  /** A store URI Nix cannot build on (a binary cache, this machine's own store, an unknown scheme). Data: `suggestion` for a misspelt scheme. */
  'store-uri-unusable': 'warning',
  /** remote-program or remote-store (column 1's store settings) holds shell metacharacters: Nix hands the value to the builder's shell, which runs them as code. */
  'shell-in-store-setting': 'warning',
  /** ` @file` after a space (Nix < 2.29): a machine named `@file`, not an include. */
  'include-after-space': 'warning',
  /** `host:port` before Nix 2.31: ssh gets `host:port` as the host name. */
  'port-in-uri': 'warning',
  /** Column 7 (mandatoryFeatures) is set: only derivations requiring all of them go to this machine. */
  'mandatory-without-need': 'information',
  /** A feature one slip away from a well-known one (`big_parallel`): nothing asks for it. Data: `suggestion`. */
  'unknown-feature': 'warning',
  /** nix.conf: a setting Nix does not know (`buidlers`): Nix warns and ignores the line. Data: `suggestion` when one is near. */
  'unknown-setting': 'warning',
  /** nix.conf: a value Nix refuses for the setting's type (`max-jobs = four`): Nix fails. */
  'conf-invalid-value': 'error',
  /** nix.conf: `max-jobs = 0` and no builder: Nix can build nothing. */
  'nothing-can-build': 'warning',
} as const satisfies Record<string, Severity>;

export type ProblemCode = keyof typeof problemSeverities;

export interface Problem {
  code: ProblemCode;
  severity: Severity;
  /** For the user: what Nix says (quoted) and what to do about it. */
  message: string;
  /** In the text that was parsed. For a problem inside an included file: the include itself. */
  span: Span;
  /** Exactly what the targeted Nix prints after `error: ` (or `warning: `), when it prints something. */
  nixMessage?: string;
  /**
   * What Nix prints before `nixMessage` as the error's trace (each line after `… `), in the
   * order it prints them: newer Nix wraps some errors this way (see `base64ErrorHasTrace`).
   */
  nixTrace?: string[];
  /** The included file the problem is really in, when it is not in the parsed text. */
  file?: string;
  /** Where in `file` the problem is. */
  fileSpan?: Span;
  /** What a quick fix needs (plain JSON: it travels in the LSP diagnostic's `data`). */
  data?: ProblemData;
}

/** Quick-fix data of a problem. Every field is optional; each code documents what it sets. */
export interface ProblemData {
  /**
   * The text that should replace what the problem points at (`fileSpan` in `file` when the
   * problem is in an included file, else `span`): a spelling ("Did you mean …?") or a rewrite.
   */
  suggestion?: string;
  /** A file the fix would create (`include-missing`): the path as written, which Nix resolves. */
  path?: string;
  /** Another place the problem involves (`duplicate-machine`: the first entry). */
  related?: { span: Span; file?: string; message: string };
}

/** A problem with the severity its code carries, so no caller can pick another one. */
export function problem(
  code: ProblemCode,
  span: Span,
  message: string,
  nixMessage?: string,
  data?: ProblemData,
): Problem {
  const result: Problem = { code, severity: problemSeverities[code], message, span };
  if (nixMessage !== undefined) result.nixMessage = nixMessage;
  if (data !== undefined) result.data = data;
  return result;
}

/** The message as it reads at its place in the included file (without the "In FILE:" lead). */
export function messageInItsFile(p: Problem): string {
  const lead = p.file === undefined ? '' : `In ${p.file}: `;
  return lead && p.message.startsWith(lead) ? p.message.slice(lead.length) : p.message;
}
