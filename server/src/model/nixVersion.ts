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
}

/** One version difference: the value of a rule before `since`, and from `since` on. */
export interface VersionRuleRow<K extends keyof VersionRules = keyof VersionRules> {
  since: NixVersion;
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
  splitLinesFirst: {
    since: v(2, 29),
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
};

/** The rules of one Nix version: each rule takes its `before` or `from` value from its row. */
export function rulesFor(version: NixVersion): VersionRules {
  const rules = {} as VersionRules;
  for (const rule of Object.keys(versionRuleTable) as (keyof VersionRules)[]) {
    const row = versionRuleTable[rule];
    rules[rule] = compareNixVersions(version, row.since) >= 0 ? row.from : row.before;
  }
  return rules;
}

/** The rules of Nix 2.8, the version installed on our machines. */
export const nix2_8Rules: VersionRules = rulesFor(nix2_8);
