// Nix's choice of machine, case by case (build-remote.cc). The system tier holds the same
// function against real Nix on real builders.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { selectMachine, type Candidate, type DerivationNeeds } from '../../server/src/dispatch/select';

let next = 0;
function machine(fields: Partial<Candidate> & { uri?: string } = {}): Candidate {
  const uri = fields.uri ?? `ssh://m${next++}`;
  return {
    id: uri,
    uri,
    systems: ['x86_64-linux'],
    maxJobs: 1,
    speedFactor: 1,
    supportedFeatures: [],
    mandatoryFeatures: [],
    load: 0,
    ...fields,
  };
}
const needs = (system = 'x86_64-linux', requiredFeatures: string[] = []): DerivationNeeds => ({
  system,
  requiredFeatures,
});
const nix28 = { integerLoadDivision: true };
const nix220 = { integerLoadDivision: false };
const chosen = (candidates: Candidate[], n = needs(), rules = nix28) => selectMachine(candidates, n, rules).chosen?.uri;

describe('eligibility', () => {
  test('a machine for another system is never chosen, and says which systems it builds for', () => {
    const arm = machine({ uri: 'ssh://arm', systems: ['aarch64-linux'] });
    const selection = selectMachine([arm], needs(), nix28);
    assert.equal(selection.chosen, undefined);
    assert.equal(selection.verdicts[0]!.kind, 'wrong-system');
    assert.match(selection.verdicts[0]!.reason, /aarch64-linux, not x86_64-linux/);
  });

  test('a builtin derivation goes to any machine', () => {
    assert.equal(chosen([machine({ uri: 'ssh://arm', systems: ['aarch64-linux'] })], needs('builtin')), 'ssh://arm');
  });

  test('a required feature must be supported or mandatory', () => {
    const plain = machine({ uri: 'ssh://plain' });
    const kvm = machine({ uri: 'ssh://kvm', supportedFeatures: ['kvm'] });
    assert.equal(chosen([plain, kvm], needs('x86_64-linux', ['kvm'])), 'ssh://kvm');
    assert.equal(selectMachine([plain], needs('x86_64-linux', ['kvm']), nix28).verdicts[0]!.kind, 'missing-feature');
  });

  test('mandatory features count as supported', () => {
    assert.equal(
      chosen(
        [machine({ uri: 'ssh://big', mandatoryFeatures: ['big-parallel'] })],
        needs('x86_64-linux', ['big-parallel']),
      ),
      'ssh://big',
    );
  });

  test('a machine with mandatory features only takes derivations that require all of them', () => {
    const big = machine({ uri: 'ssh://big', mandatoryFeatures: ['big-parallel', 'kvm'] });
    const selection = selectMachine([big], needs('x86_64-linux', ['big-parallel']), nix28);
    assert.equal(selection.chosen, undefined);
    assert.equal(selection.verdicts[0]!.kind, 'mandatory-not-requested');
    assert.match(selection.verdicts[0]!.reason, /require kvm/);
  });

  test('a machine whose probe failed is skipped with that reason', () => {
    const selection = selectMachine(
      [machine({ uri: 'ssh://down', down: 'connection refused' }), machine({ uri: 'ssh://up' })],
      needs(),
      nix28,
    );
    assert.equal(selection.chosen?.uri, 'ssh://up');
    assert.deepEqual(
      selection.verdicts.map((v) => v.kind),
      ['down', 'chosen'],
    );
  });

  test('maxJobs 0: never a slot', () => {
    const selection = selectMachine([machine({ maxJobs: 0 })], needs(), nix28);
    assert.equal(selection.chosen, undefined);
    assert.equal(selection.verdicts[0]!.kind, 'no-slots');
  });
});

describe('slots and load', () => {
  test('a machine with every slot busy is skipped; Nix would wait for it when nothing else fits', () => {
    const selection = selectMachine([machine({ uri: 'ssh://busy', maxJobs: 2, load: 2 })], needs(), nix28);
    assert.equal(selection.chosen, undefined);
    assert.equal(selection.verdicts[0]!.kind, 'busy');
    assert.equal(selection.wouldWait, true);
  });

  test('the lowest load / speedFactor wins', () => {
    const a = machine({ uri: 'ssh://a', maxJobs: 8, load: 4, speedFactor: 1 });
    const b = machine({ uri: 'ssh://b', maxJobs: 8, load: 3, speedFactor: 1 });
    assert.equal(chosen([a, b]), 'ssh://b');
  });

  test('a faster machine takes more load before it is passed over', () => {
    const slow = machine({ uri: 'ssh://slow', maxJobs: 8, load: 1, speedFactor: 1 });
    const fast = machine({ uri: 'ssh://fast', maxJobs: 8, load: 3, speedFactor: 4 });
    assert.equal(chosen([slow, fast], needs(), nix220), 'ssh://fast'); // 0.75 < 1
  });

  test('integer division before 2.20: 3/4 and 1/4 both round to 0, the tie goes to the higher speedFactor', () => {
    const a = machine({ uri: 'ssh://a', maxJobs: 8, load: 1, speedFactor: 4 });
    const b = machine({ uri: 'ssh://b', maxJobs: 8, load: 0, speedFactor: 2 });
    // 2.8: 1/4 = 0 and 0/2 = 0: tie, higher speedFactor (a) wins.
    assert.equal(chosen([a, b], needs(), nix28), 'ssh://a');
    // 2.20: 0.25 vs 0: b wins.
    assert.equal(chosen([a, b], needs(), nix220), 'ssh://b');
  });

  test('equal score and speed: the lower load wins', () => {
    const a = machine({ uri: 'ssh://a', maxJobs: 8, load: 1, speedFactor: 2 });
    const b = machine({ uri: 'ssh://b', maxJobs: 8, load: 0, speedFactor: 2 });
    assert.equal(chosen([a, b], needs(), nix28), 'ssh://b'); // 1/2 = 0 = 0/2
  });

  test('a complete tie goes to the earlier line', () => {
    const first = machine({ uri: 'ssh://first' });
    const second = machine({ uri: 'ssh://second' });
    assert.equal(chosen([first, second]), 'ssh://first');
    assert.equal(chosen([second, first]), 'ssh://second');
  });

  test('every machine gets a verdict that says why', () => {
    const selection = selectMachine(
      [
        machine({ uri: 'ssh://a', load: 0 }),
        machine({ uri: 'ssh://b', systems: ['aarch64-linux'] }),
        machine({ uri: 'ssh://c', maxJobs: 4, load: 2 }),
      ],
      needs(),
      nix220,
    );
    assert.deepEqual(
      selection.verdicts.map((v) => [v.candidate.uri, v.kind]),
      [
        ['ssh://a', 'chosen'],
        ['ssh://b', 'wrong-system'],
        ['ssh://c', 'not-best'],
      ],
    );
    assert.match(selection.verdicts[2]!.reason, /ssh:\/\/a comes first/);
  });

  test('a tie in load and speed: the reason names the earlier line, not two equal scores', () => {
    const selection = selectMachine([machine({ uri: 'ssh://a' }), machine({ uri: 'ssh://b' })], needs(), nix220);
    assert.equal(
      selection.verdicts[1]!.reason,
      'fits, but ssh://a comes first (same load and speed (load 0/1, speed 1), and its line is earlier)',
    );
  });
});
