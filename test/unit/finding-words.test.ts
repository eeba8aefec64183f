// The builder's words a finding quotes, per Nix version, as each version's source has them
// (health/nixWords.ts cites the commits; test/system/finding-words.test.ts holds them against
// the lab's real 2.8 and 2.34 builders). The versions of the lab, and each change's edges.
//   node --import tsx --test test/unit/finding-words.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeFinding } from '../../server/src/health/findings';
import { cannotBuildWords, unsignedPathWords } from '../../server/src/health/nixWords';

const before230 = "a '…' with features {…} is required to build '…', but I am a '…' with features {…}";

test('an unsigned path: "valid signature" before 2.12, "signature by a trusted key" from 2.12 (a2a8cb10ac)', () => {
  for (const version of [undefined, '2.8.0', '2.11.1'])
    assert.equal(unsignedPathWords(version), "cannot add path '…' because it lacks a valid signature", version);
  for (const version of ['2.12.0', '2.26.3', '2.34.8'])
    assert.equal(
      unsignedPathWords(version),
      "cannot add path '…' because it lacks a signature by a trusted key",
      version,
    );
});

test('a system or features the builder lacks: 2.8 to 2.29, 2.30 to 2.33, and 2.34 each in their words', () => {
  for (const version of [undefined, '2.8.0', '2.26.3', '2.29.1']) {
    assert.equal(cannotBuildWords(version, 'system'), before230, version);
    assert.equal(cannotBuildWords(version, 'features'), before230, version);
  }
  for (const version of ['2.30.0', '2.33.2'])
    assert.equal(
      cannotBuildWords(version, 'system'),
      "Cannot build '…'. Reason: required system or feature not available",
      version,
    );
  assert.equal(cannotBuildWords('2.34.8', 'system'), "Cannot build '…'. Reason: platform mismatch");
  assert.equal(cannotBuildWords('2.34.0', 'features'), "Cannot build '…'. Reason: missing system features");
});

test('the findings quote the words of the builder version they were given', () => {
  const context = {
    uri: 'ssh://b',
    alias: 'b',
    user: 'nix',
    systems: ['aarch64-linux'],
    builderSystems: ['x86_64-linux'],
    features: ['cuda'],
    builderFeatures: [],
  };
  assert.ok(
    makeFinding('system-mismatch', { ...context, builderNix: '2.34.8' }).message.includes('Reason: platform mismatch'),
  );
  assert.ok(
    makeFinding('system-mismatch', { ...context, builderNix: '2.26.3' }).message.includes('is required to build'),
  );
  assert.ok(
    makeFinding('feature-mismatch', { ...context, builderNix: '2.34.8' }).message.includes(
      'Reason: missing system features',
    ),
  );
  assert.ok(
    makeFinding('untrusted-user', { ...context, builderNix: '2.26.3' }).message.includes(
      'lacks a signature by a trusted key',
    ),
  );
  assert.ok(
    makeFinding('untrusted-user', { ...context, builderNix: '2.8.0' }).message.includes('lacks a valid signature'),
  );
});
