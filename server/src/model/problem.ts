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
  /** An `@file` exists but cannot be read (a directory, no permission). */
  'include-unreadable': 'error',
  /** An `@file` includes itself, directly or through others: Nix recurses until it overflows. */
  'include-cycle': 'error',
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
  /** The included file the problem is really in, when it is not in the parsed text. */
  file?: string;
  /** Where in `file` the problem is. */
  fileSpan?: Span;
}

/** A problem with the severity its code carries, so no caller can pick another one. */
export function problem(
  code: ProblemCode,
  span: Span,
  message: string,
  nixMessage?: string,
): Problem {
  const result: Problem = { code, severity: problemSeverities[code], message, span };
  if (nixMessage !== undefined) result.nixMessage = nixMessage;
  return result;
}
