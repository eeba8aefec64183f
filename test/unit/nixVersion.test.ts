import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareNixVersions,
  formatNixVersion,
  nix2_8,
  parseNixVersion,
  rulesFor,
  versionRuleTable,
  type NixVersion,
  type VersionRules,
} from '../../server/src/model/nixVersion';
import { nix2_8Rules } from '../helpers/nix2_8Rules';

const v = (text: string): NixVersion => {
  const version = parseNixVersion(text);
  assert.ok(version, `no version in ${text}`);
  return version;
};

describe('reading a Nix version', () => {
  test('"2.8" is 2.8.0 and "2.24.3" is 2.24.3', () => {
    assert.deepEqual(parseNixVersion('2.8'), { major: 2, minor: 8, patch: 0 });
    assert.deepEqual(parseNixVersion('2.24.3'), { major: 2, minor: 24, patch: 3 });
  });

  test('what `nix --version` prints is read, including pre-releases and Determinate Nix', () => {
    assert.deepEqual(parseNixVersion('nix (Nix) 2.8.0\n'), { major: 2, minor: 8, patch: 0 });
    assert.deepEqual(parseNixVersion('nix (Nix) 2.25.0pre20241101_dirty'), { major: 2, minor: 25, patch: 0 });
    assert.deepEqual(parseNixVersion('nix (Determinate Nix 3.6.2) 2.29.0'), { major: 2, minor: 29, patch: 0 });
  });

  test('a text without a version gives undefined', () => {
    assert.equal(parseNixVersion('auto'), undefined);
    assert.equal(parseNixVersion(''), undefined);
    assert.equal(parseNixVersion('nix: command not found'), undefined);
  });

  test('versions compare by major, minor, then patch, and print as X.Y.Z', () => {
    assert.ok(compareNixVersions(v('2.8'), v('2.20')) < 0);
    assert.ok(compareNixVersions(v('2.20.1'), v('2.20')) > 0);
    assert.equal(compareNixVersions(v('2.8.0'), nix2_8), 0);
    assert.equal(formatNixVersion(v('2.8')), '2.8.0');
  });
});

describe('version rules are rows of a table', () => {
  test('every rule has exactly one row, and rulesFor gives a value for each', () => {
    const rules = rulesFor(nix2_8);
    assert.deepEqual(Object.keys(versionRuleTable).sort(), Object.keys(rules).sort());
    for (const value of Object.values(rules)) assert.equal(typeof value, 'boolean');
  });

  test('Nix 2.8: one split on newlines and `;`, integer speedFactor, no port in URIs, integer load division', () => {
    assert.deepEqual(nix2_8Rules, {
      splitLinesFirst: false,
      speedFactorIsFloat: false,
      portInUri: false,
      integerLoadDivision: true,
      base64ErrorHasTrace: false,
      systemsAreASet: false,
      confSyntaxErrorWording: false,
      confPathsInDoubleQuotes: false,
      readErrorNamesBytes: false,
      storeUriParsedWithMachine: false,
      storeUriIsRfc3986: false,
      sshStartErrorWording: false,
      storeSchemeErrorWording: false,
      sshStoreNeedsHostWording: false,
      sshAuthorityChecked: false,
      noBuildErrorCapitalised: false,
      noBuildErrorNamesReason: false,
      remoteStoreUnquoted: false,
      mountedSshStore: false,
      sshKeyMustBeAbsolute: false,
    } satisfies VersionRules);
  });

  test('speedFactor is a float and load division is exact from 2.20, not in 2.19', () => {
    assert.equal(rulesFor(v('2.19.9')).speedFactorIsFloat, false);
    assert.equal(rulesFor(v('2.19.9')).integerLoadDivision, true);
    assert.equal(rulesFor(v('2.20')).speedFactorIsFloat, true);
    assert.equal(rulesFor(v('2.20')).integerLoadDivision, false);
  });

  test('lines are split first from 2.29.0, and from the backports 2.24.15 and 2.28.2 in their own series only', () => {
    const split = (text: string) => rulesFor(v(text)).splitLinesFirst;
    assert.deepEqual(
      [
        '2.24.14',
        '2.24.15',
        '2.24.16',
        '2.25.0',
        '2.26.3',
        '2.27.1',
        '2.28.0',
        '2.28.1',
        '2.28.2',
        '2.28.5',
        '2.29.0',
        '2.34.8',
      ].map((t) => [t, split(t)]),
      [
        ['2.24.14', false],
        ['2.24.15', true],
        ['2.24.16', true],
        ['2.25.0', false],
        ['2.26.3', false],
        ['2.27.1', false],
        ['2.28.0', false],
        ['2.28.1', false],
        ['2.28.2', true],
        ['2.28.5', true],
        ['2.29.0', true],
        ['2.34.8', true],
      ],
    );
  });

  test('a column 8 that is not base64 fails with a trace from 2.24.8 on (backport of the 2.25.0 change)', () => {
    assert.equal(rulesFor(v('2.24.7')).base64ErrorHasTrace, false);
    assert.equal(rulesFor(v('2.24.8')).base64ErrorHasTrace, true);
    assert.equal(rulesFor(v('2.25.0')).base64ErrorHasTrace, true);
    assert.equal(rulesFor(v('2.23.3')).base64ErrorHasTrace, false);
  });

  test('a port in the store URI reaches ssh from 2.31, not in 2.30', () => {
    assert.equal(rulesFor(v('2.30.2')).portInUri, false);
    assert.equal(rulesFor(v('2.31')).portInUri, true);
  });

  // Each row: the last release of the series before `since` (none of these was backported:
  // checked in the NixOS/nix tags), `since` itself, and the lab's 2.26.3 and 2.34.8.
  const boundaries: [keyof VersionRules, string, string][] = [
    ['sshStartErrorWording', '2.14.1', '2.15.0'],
    ['storeSchemeErrorWording', '2.22.4', '2.23.0'],
    ['sshStoreNeedsHostWording', '2.22.4', '2.23.0'],
    ['sshAuthorityChecked', '2.30.5', '2.31.0'],
    ['noBuildErrorCapitalised', '2.20.9', '2.21.0'],
    ['noBuildErrorNamesReason', '2.33.6', '2.34.0'],
    ['sshKeyMustBeAbsolute', '2.33.6', '2.34.0'],
    ['remoteStoreUnquoted', '2.19.7', '2.20.0'],
    ['mountedSshStore', '2.19.7', '2.20.0'],
  ];
  for (const [rule, before, since] of boundaries) {
    test(`${rule} changes in ${since}, not in ${before}, and has no backports`, () => {
      assert.equal(formatNixVersion(versionRuleTable[rule].since), since);
      assert.equal(versionRuleTable[rule].backports, undefined);
      assert.equal(rulesFor(v(before))[rule], versionRuleTable[rule].before);
      assert.equal(rulesFor(v(since))[rule], versionRuleTable[rule].from);
      assert.notEqual(versionRuleTable[rule].before, versionRuleTable[rule].from);
      assert.equal(rulesFor(v('2.34.8'))[rule], true);
    });
  }

  test('the lab: 2.26.3 has the 2.15-2.23 wordings and the 2.21 message, not the 2.31 and 2.34 changes', () => {
    const r = rulesFor(v('2.26.3'));
    assert.deepEqual(
      [
        r.sshStartErrorWording,
        r.storeSchemeErrorWording,
        r.sshStoreNeedsHostWording,
        r.noBuildErrorCapitalised,
        r.sshAuthorityChecked,
        r.noBuildErrorNamesReason,
        r.sshKeyMustBeAbsolute,
      ],
      [true, true, true, true, false, false, false],
    );
  });

  test('each row says what changed', () => {
    for (const row of Object.values(versionRuleTable)) assert.ok(row.change.length > 10);
  });
});
