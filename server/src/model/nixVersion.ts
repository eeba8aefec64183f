// Which Nix we are checking against, and what that changes. The differences between Nix
// versions are rows of one table (`versionRuleTable`), so adding a version difference means
// adding a row, and no parser code asks "which version is this?" itself: parsers receive the
// `VersionRules` that `rulesFor` derives from the table.

export interface NixVersion {
  major: number;
  minor: number;
  patch: number;
}

/**
 * Reads a version from `2.8`, `2.24.3`, or what `nix --version` prints: `nix (Nix) 2.8.0`,
 * `nix (Nix) 2.25.0pre20241101_dirty`, `nix (Determinate Nix 3.6.2) 2.29.0`. The last
 * `X.Y[.Z]` in the text is Nix's own version (Determinate Nix puts its product version first).
 * Returns `undefined` when there is no version in the text.
 */
export function parseNixVersion(text: string): NixVersion | undefined {
  const matches = [...text.matchAll(/(\d+)\.(\d+)(?:\.(\d+))?/g)];
  const last = matches[matches.length - 1];
  if (last === undefined) return undefined;
  const major = Number(last[1]);
  const minor = Number(last[2]);
  const patch = last[3] === undefined ? 0 : Number(last[3]);
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  return { major, minor, patch };
}

/** Negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareNixVersions(a: NixVersion, b: NixVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatNixVersion(v: NixVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** The Nix that Debian ships and our tests run: its behaviour is checked against the real thing. */
export const nix2_8: NixVersion = { major: 2, minor: 8, patch: 0 };

/** What the parsers and the selector need to know about the targeted Nix. */
export interface VersionRules {
  /**
   * Builders text: newlines split first, then `;`; `#` comments run to the end of the line;
   * entries are trimmed and empty ones skipped (so `@file` works after spaces).
   * Before (checked on real 2.8.0): one split on `\n` and `;`; `#` cuts only to the next `;`
   * (wherever it is in the entry); nothing is trimmed, so an entry of only whitespace (also
   * ` #c`) is an error, and `@file` counts only at the very start of an entry.
   */
  splitLinesFirst: boolean;
  /** speedFactor (column 5) is a float (`1.5`; negative is an error); before, an unsigned integer. */
  speedFactorIsFloat: boolean;
  /** `user@host:port` in a store URI reaches ssh as a port; before, ssh sees `host:port` as a name. */
  portInUri: boolean;
  /** Machine selection compares `load / speedFactor` with integer division. */
  integerLoadDivision: boolean;
  /**
   * A column 8 that is not base64 fails as a FormatError with a trace: `… while parsing machine
   * specification at a column #7 in a row: '…'` then `error: invalid character in Base64
   * string: '…'`. Before, one line: `bad machine specification: a column #7 … is not valid
   * base64 string: …`.
   */
  base64ErrorHasTrace: boolean;
  /** Column 2 is read as a set: systems sorted, duplicates dropped. Before, a list as written. */
  systemsAreASet: boolean;
  /** nix.conf: `syntax error in configuration line '…'`; before, `illegal configuration line '…'`. */
  confSyntaxErrorWording: boolean;
  /**
   * nix.conf messages print file paths in double quotes (`in "/etc/nix/nix.conf"`); before, in
   * single quotes. With it came a broken format string: an `include` line without exactly one
   * path fails with `boost::bad_format_string: format-string is ill-formed`.
   */
  confPathsInDoubleQuotes: boolean;
  /** An `@file` that is a directory fails with `read of 65536 bytes: Is a directory`; before, `reading from file: Is a directory`. */
  readErrorNamesBytes: boolean;
  /** Reading a machine parses its store URI: one that is not a URL fails the list (`Cannot parse Nix store '…'`). */
  storeUriParsedWithMachine: boolean;
  /** That parse is RFC 3986 (Boost.URL, lenient) instead of Nix's own regex (storeReference.ts). */
  storeUriIsRfc3986: boolean;
  /** ssh failing to start is `failed to start SSH connection to '…'`; before, `cannot connect to '…'`. */
  sshStartErrorWording: boolean;
  /** An unknown store scheme is `don't know how to open Nix store with scheme '…'`; before, `… Nix store '<uri>'`. */
  storeSchemeErrorWording: boolean;
  /** An ssh store without a host fails with `` `ssh` store requires a valid SSH host as the authority part in Store URI``; before, `invalid SSH host name ''`. */
  sshStoreNeedsHostWording: boolean;
  /**
   * Nix checks the authority before it runs ssh: `invalid SSH authority: '<authority>': host
   * name '<host>' must not start with '-'` (also the user name), `… host name must not be empty`.
   * Before, only the whole `user@host` is checked for a leading `-` (`invalid SSH host name '…'`).
   */
  sshAuthorityChecked: boolean;
  /** max-jobs = 0 and no machine: `Unable to start any build; …` (capitalised); before, `unable to start any build; …`. */
  noBuildErrorCapitalised: boolean;
  /**
   * max-jobs = 0 and no machine for a derivation this machine could build: `Cannot build '<drv>'.`
   * with `Reason: local builds are disabled (max-jobs = 0)`; before, `Unable to start any build; …`.
   */
  noBuildErrorNamesReason: boolean;
  /**
   * `remote-store` reaches the builder's shell as it is (one word of the command); before, Nix
   * quotes it itself (`shellEscape`), which holds only for a POSIX login shell.
   */
  remoteStoreUnquoted: boolean;
  /** `mounted-ssh-ng://` is a store type (experimental `mounted-ssh-store`); before, an unknown one. */
  mountedSshStore: boolean;
  /** The ssh key (column 3, `?ssh-key=`) must be an absolute path: connecting fails with `not an absolute path: "<key>"`. */
  sshKeyMustBeAbsolute: boolean;
}

/**
 * One version difference: the value of a rule before `since`, and from `since` on, and also
 * from each of `backports` on within that backport's own minor series (a fix released in
 * 2.29.0 and in 2.24.15 and 2.28.2 holds for 2.24.15-2.24.x, 2.28.2-2.28.x and 2.29.0 on, not
 * for 2.25-2.27): a version rule is a set of ranges, not one "since".
 */
export interface VersionRuleRow<K extends keyof VersionRules = keyof VersionRules> {
  since: NixVersion;
  backports?: readonly NixVersion[];
  before: VersionRules[K];
  from: VersionRules[K];
  /** What changed, for hovers and for whoever adds the next row. */
  change: string;
}

const v = (major: number, minor: number, patch = 0): NixVersion => ({ major, minor, patch });

/**
 * The version differences (from nix-remote-builds.md; the `before` side of every row is what
 * real Nix 2.8.0 does, checked by the oracle test). One row per rule: the type makes sure no
 * rule is missing.
 */
export const versionRuleTable: { readonly [K in keyof VersionRules]: VersionRuleRow<K> } = {
  // NixOS/nix PRs #12984 and #12986: f8b13cce1953 "Fix `;` and `#` bug in machine file parsing"
  // and b74b0f4e1c4e "Fix another machine config parsing bug" (2.29.0); backported as
  // 0c6a20791 + 142f94b7e (2.24.15) and 2892b758b + f9c262c3d (2.28.2). Checked on real 2.26.3
  // (old split) and 2.34.8 (new split).
  splitLinesFirst: {
    since: v(2, 29),
    backports: [v(2, 24, 15), v(2, 28, 2)],
    before: false,
    from: true,
    change:
      'builders are split into lines first; `#` comments run to the end of the line; entries are trimmed and empty entries skipped',
  },
  speedFactorIsFloat: {
    since: v(2, 20),
    before: false,
    from: true,
    change: 'speedFactor is read as a float (negative is an error, 0 becomes 1) instead of an unsigned integer',
  },
  portInUri: {
    since: v(2, 31),
    before: false,
    from: true,
    change: 'a port in `user@host:port` is passed to ssh',
  },
  integerLoadDivision: {
    since: v(2, 20),
    before: true,
    from: false,
    change: 'machine selection divides load by speedFactor as floats instead of integers',
  },
  // 2b6b03d8df88 "Ensure error messages don't leak private key" (2.25.0), backported to 2.24 as
  // 082f6bb35d4c (2.24.8): no 2.18-2.23 release has it. Checked on real 2.26.3 and 2.34.8.
  base64ErrorHasTrace: {
    since: v(2, 24, 8),
    before: false,
    from: true,
    change: 'a column 8 that is not base64 is reported as "invalid character in Base64 string" with the row in a trace',
  },
  // 739032762add "Make `Machine::systemTypes` a set not vector" (2.20.0): the build hook's
  // "available machines" table prints them sorted. Checked on 2.26.3 and 2.34.8.
  systemsAreASet: {
    since: v(2, 20),
    before: false,
    from: true,
    change: 'column 2 is read as a set (sorted, each system once) instead of a list in the written order',
  },
  // 0fe3525223 "illegal configuration line -> syntax error in configuration line" (2.24.0).
  confSyntaxErrorWording: {
    since: v(2, 24),
    before: false,
    from: true,
    change: "nix.conf's line errors say `syntax error in configuration line` instead of `illegal configuration line`",
  },
  // b84a42f4cc32 "libutil: replace string-based `Path` with `std::filesystem::path` across core
  // libraries" (2.34.0): `PathFmt` quotes with `"`, and one format string mixes `%1%` with `%s`
  // (still so in 2.35.0). Checked on real 2.34.8.
  confPathsInDoubleQuotes: {
    since: v(2, 34),
    before: false,
    from: true,
    change:
      'nix.conf messages quote paths with double quotes; an `include` with no or several paths fails with a format-string error',
  },
  // c0e849b696e3 "Centralize I/O error handling and make read/write functions portable" (2.34.0).
  readErrorNamesBytes: {
    since: v(2, 34),
    before: false,
    from: true,
    change: 'reading a directory as a machines file fails with `read of 65536 bytes: Is a directory`',
  },
  // b3ebcc5aad1f "Use the new `StoreReference` in `Machine`" (2.23.0). Checked on 2.26.3, 2.34.8.
  storeUriParsedWithMachine: {
    since: v(2, 23),
    before: false,
    from: true,
    change: "a store URI that is not a URL (`ssh://hôte`) fails the whole list: `Cannot parse Nix store '…'`",
  },
  // bd1d2d1041a3 "libutil: Use Boost.URL in parseURL" (2.31.0). Checked on 2.34.8.
  storeUriIsRfc3986: {
    since: v(2, 31),
    before: false,
    from: true,
    change:
      'store URIs are parsed as RFC 3986 URLs (a port must be digits, `"` and a raw `%` are refused, `SSH://` is fine)',
  },
  // 5291a82cd9 "SSHMaster: pause logger to show password prompt" (2.15.0). Checked on real 2.8.0
  // (`cannot connect to`) and 2.26.3, 2.34.8.
  sshStartErrorWording: {
    since: v(2, 15),
    before: false,
    from: true,
    change:
      "ssh failing to start is reported as `failed to start SSH connection to '…'` instead of `cannot connect to '…'`",
  },
  // c036d75f9e "Factor out abstract syntax for Store URIs" (2.23.0). Checked on 2.26.3 and 2.34.8.
  storeSchemeErrorWording: {
    since: v(2, 23),
    before: false,
    from: true,
    change: "an unknown store type is reported as `don't know how to open Nix store with scheme '…'`",
  },
  // 470c0501eb "Ensure all store types support \"real\" URIs" (2.23.0). Checked on 2.26.3.
  sshStoreNeedsHostWording: {
    since: v(2, 23),
    before: false,
    from: true,
    change:
      'an ssh store without a host is reported as "`ssh` store requires a valid SSH host as the authority part in Store URI"',
  },
  // 49ba06175e "Add user@address:port support" (2.31.0): `checkValidAuthority` in ssh.cc. Checked on 2.34.8.
  sshAuthorityChecked: {
    since: v(2, 31),
    before: false,
    from: true,
    change:
      "Nix checks the host and user names before running ssh (`invalid SSH authority: …: host name '-x' must not start with '-'`)",
  },
  // fd82ba0985 "extract reference documentation on remote builds (#9526)" (2.21.0); its layout
  // (a raw string over several indented lines) became one line in eb97d8c170 (2.30.0), same
  // words. Checked on 2.26.3.
  noBuildErrorCapitalised: {
    since: v(2, 21),
    before: false,
    from: true,
    change:
      "with max-jobs = 0 and no machine Nix says `Unable to start any build; …` (capitalised, with a pointer to 'man nix.conf')",
  },
  // 7cd4359a8b "libstore: structured diagnostics for local build rejection" (2.34.0). Checked on 2.34.8.
  noBuildErrorNamesReason: {
    since: v(2, 34),
    before: false,
    from: true,
    change:
      "with max-jobs = 0 and no machine Nix says `Cannot build '<drv>'.` and `Reason: local builds are disabled (max-jobs = 0)`",
  },
  // b71673109c "Make `SSHMaster::startCommand` work on an args list" (2.20.0): `--store` and
  // remote-store became separate arguments; 2.19.7 still has `shellEscape(remoteStore.get())`.
  remoteStoreUnquoted: {
    since: v(2, 20),
    before: false,
    from: true,
    change: "remote-store is handed to the builder's shell as it is, no longer single-quoted by Nix",
  },
  // 06b8902562 "MountedSSHStore: stores on shared filesystems" (2.20.0). Checked on 2.8.0 (`don't
  // know how to open Nix store 'mounted-ssh-ng://…'`), 2.26.3 and 2.34.8 (an ssh store).
  mountedSshStore: {
    since: v(2, 20),
    before: false,
    from: true,
    change: '`mounted-ssh-ng://` is a store type (behind the experimental feature mounted-ssh-store)',
  },
  // fc08c86a07 "types: remove Path* typedefs" (2.34.0): `ssh-key` became a `Setting<AbsolutePath>`.
  // Checked on 2.34.8: at connect time (`cannot build on '…': error: not an absolute path: "k"`), not when the machines are read.
  sshKeyMustBeAbsolute: {
    since: v(2, 34),
    before: false,
    from: true,
    change: 'an ssh key that is not an absolute path makes Nix skip the machine (`not an absolute path: "…"`)',
  },
};

/** True when `version` has the change of `row`: from `since` on, or from a backport in its minor series. */
function hasChange(version: NixVersion, row: VersionRuleRow): boolean {
  if (compareNixVersions(version, row.since) >= 0) return true;
  return (row.backports ?? []).some(
    (b) => b.major === version.major && b.minor === version.minor && version.patch >= b.patch,
  );
}

/** The rules of one Nix version: each rule takes its `before` or `from` value from its row. */
export function rulesFor(version: NixVersion): VersionRules {
  const rules = {} as VersionRules;
  for (const rule of Object.keys(versionRuleTable) as (keyof VersionRules)[]) {
    const row = versionRuleTable[rule];
    (rules as Record<keyof VersionRules, boolean>)[rule] = hasChange(version, row) ? row.from : row.before;
  }
  return rules;
}

/** The rules of Nix 2.8, the version installed on our machines. */
