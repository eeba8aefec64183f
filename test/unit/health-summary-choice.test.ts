// What the client shows comes from the server: the title of a machine that is not up (its worst
// finding's) and whether a build choice may be built on. The client only renders them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthSummary, makeFinding } from '../../server/src/health/findings';
import { usableChoice } from '../../server/src/dispatch/buildOnRemote';
import type { BuildChoice, HealthFinding } from '../../server/src/protocol';

const context = { uri: 'ssh://builder', alias: 'builder' };
const info = makeFinding('daemon-context', context);
const warning = makeFinding('low-disk', context);
const error = makeFinding('dns-failed', context);
const secondError = makeFinding('connection-refused', context);

test('a machine that is down shows its first error, even after warnings and infos', () => {
  assert.equal(healthSummary('down', [info, warning, error, secondError]), error.title);
  assert.equal(healthSummary('down', [info, warning, error, secondError]), 'name does not resolve');
});

test('a degraded machine shows its first warning; infos never make the summary', () => {
  assert.equal(healthSummary('degraded', [info, warning]), 'low disk space');
  assert.equal(healthSummary('degraded', [info]), undefined);
});

test('up, probing and untrusted machines have no summary, whatever the findings', () => {
  const findings: HealthFinding[] = [makeFinding('ok', context), info];
  for (const status of ['up', 'probing', 'untrusted'] as const)
    assert.equal(healthSummary(status, findings), undefined, status);
  assert.equal(healthSummary('up', [warning]), undefined);
});

test('a down machine without any error or warning finding has no summary (the client says "down")', () => {
  assert.equal(healthSummary('down', []), undefined);
});

test("a build choice is usable when it is Nix's choice or fits but is not the best, and only then", () => {
  const kinds: Record<BuildChoice['kind'], boolean> = {
    chosen: true,
    'not-best': true,
    'wrong-system': false,
    'missing-feature': false,
    'mandatory-not-requested': false,
    'no-slots': false,
    busy: false,
    down: false,
  };
  for (const [kind, usable] of Object.entries(kinds))
    assert.equal(usableChoice(kind as BuildChoice['kind']), usable, kind);
});
