// Which machines a distributed build hands to Nix, and as what text: every machine the lint
// marks unusable (shell code in a store setting, a local store, a host starting with '-', a
// line Nix rejects) or the last probe marks down is left out with its reason; the rest go to
// Nix as one canonical line each, and that text must read back as exactly those machines.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuilders, type Machine } from '../../server/src/model/machines';
import { nix2_8, rulesFor } from '../../server/src/model/nixVersion';
import { lintMachine, type LintContext } from '../../server/src/model/lint/index';
import { machineLine, buildersTextOf } from '../../server/src/model/machineLine';
import { refusedCodes, unusableReason } from '../../server/src/model/usableMachine';
import { leftOutInWords, machinesForDistributed } from '../../server/src/dispatch/distributedMachines';

const context: LintContext & { localSystem: string } = {
  version: nix2_8,
  rules: rulesFor(nix2_8),
  keyHome: '/root',
  daemon: false,
  localSystem: 'x86_64-linux',
};
const machinesOf = (text: string): Machine[] =>
  parseBuilders(text, context.rules, { localSystem: context.localSystem }).machines;
const reasonOf = (line: string) => {
  const [machine] = machinesOf(line);
  return unusableReason(machine!, lintMachine(machine!, context));
};

describe('unusableReason: the machines this extension refuses to hand anyone', () => {
  const refused: [string, string][] = [
    ['ssh://b?remote-program=$(touch${IFS}/tmp/m)nix-store x86_64-linux', 'shell-in-store-setting'],
    ['ssh://b?remote-program=sh%20-c%20%27touch%20marker%27 x86_64-linux', 'shell-in-store-setting'],
    ['ssh://b?remote-program=nix-store%0atouch%20m x86_64-linux', 'shell-in-store-setting'],
    ['-oProxyCommand=touch${IFS}/tmp/m2 x86_64-linux', 'store-uri-unusable'],
    ['-oProxyCommand=cmd x86_64-linux', 'host-starts-with-dash'],
    ['/var/store x86_64-linux', 'store-uri-unusable'],
    ['auto x86_64-linux', 'store-uri-unusable'],
    ['daemon x86_64-linux', 'store-uri-unusable'],
    ['local x86_64-linux', 'store-uri-unusable'],
    ['unix:///nix/var/nix/daemon-socket/socket x86_64-linux', 'store-uri-unusable'],
    ['https://cache.nixos.org x86_64-linux', 'store-uri-unusable'],
    ['ssh://nix@-V x86_64-linux', 'host-starts-with-dash'],
    ['b x86_64-linux - four', 'invalid-line'],
  ];
  for (const [line, code] of refused) {
    test(`${line}: refused as ${code}`, () => {
      const reason = reasonOf(line);
      assert.equal(reason?.code, code, JSON.stringify(reason));
      assert.ok(reason!.reason.length > 20);
    });
  }

  test('healthy-looking lines are usable, whatever else the lint says about them', () => {
    for (const line of [
      'ssh://nix@b x86_64-linux',
      'b x86-64-linux',
      'ssh-ng://b?remote-program=/run/current-system/sw/bin/nix-daemon x86_64-linux - 0',
      'b - /missing/key',
    ]) {
      assert.equal(reasonOf(line), undefined, line);
    }
  });

  test('the refused codes are problem codes of the table, all warnings', () => {
    assert.ok(refusedCodes.has('shell-in-store-setting'));
    assert.ok(refusedCodes.has('store-uri-unusable'));
    assert.ok(refusedCodes.has('host-starts-with-dash'));
  });
});

describe('machineLine: one canonical line from the parsed columns', () => {
  test('eight columns, defaults as -, the store URI as Nix opens it', () => {
    const [m] = machinesOf('b   x86_64-linux,aarch64-linux\t/k 4 2 kvm,big-parallel kvm QUFB extra');
    assert.equal(machineLine(m!), 'ssh://b x86_64-linux,aarch64-linux /k 4 2 big-parallel,kvm kvm QUFB');
    const [d] = machinesOf('ssh-ng://nix@b');
    assert.equal(machineLine(d!), 'ssh-ng://nix@b - - 1 1 - - -');
  });

  test('buildersTextOf: the text reads back as the same machines; a line that would not is refused', () => {
    const machines = machinesOf('a x86_64-linux ; b aarch64-linux /k 2');
    // A column Nix would cut or split if it were written on its own line.
    const odd: Machine = { ...machines[1]!, sshKey: '/k#x' };
    const result = buildersTextOf([machines[0]!, odd], context.rules, context.localSystem);
    assert.equal(result.text, 'ssh://a x86_64-linux - 1 1 - - -');
    assert.deepEqual(result.accepted, [machines[0]]);
    assert.equal(result.refused.length, 1);
    assert.equal(result.refused[0]!.code, 'line-not-reread');
  });
});

describe('machinesForDistributed: what is left out, and why, in words', () => {
  test('refused by the lint, down by the probe, or kept', () => {
    const [good, shell, local, down] = machinesOf(
      'ssh://good x86_64-linux\nssh://good?remote-program=$(id)nix-store x86_64-linux\n-oProxyCommand=touch${IFS}/tmp/x x86_64-linux\nssh://down x86_64-linux',
    );
    const result = machinesForDistributed(
      [
        { machine: good!, health: { status: 'up' } },
        { machine: shell!, health: { status: 'unchecked' } },
        { machine: local! },
        { machine: down!, health: { status: 'down', why: 'Connection refused' } },
      ],
      context,
    );
    assert.equal(result.text, 'ssh://good x86_64-linux - 1 1 - - -');
    assert.deepEqual(result.used, [good]);
    assert.deepEqual(
      result.leftOut.map((l) => [l.uri, l.code]),
      [
        ['ssh://good?remote-program=$(id)nix-store', 'shell-in-store-setting'],
        ['-oProxyCommand=touch${IFS}/tmp/x', 'store-uri-unusable'],
        ['ssh://down', 'builder-down'],
      ],
    );
    const words = leftOutInWords(result.leftOut).join('\n');
    assert.match(words, /Left out ssh:\/\/good\?remote-program=\$\(id\)nix-store \(shell-in-store-setting\): .*shell/);
    assert.match(words, /ssh:\/\/down \(builder-down\): its last check failed: Connection refused/);
  });

  test('a machine never checked is left out where checks are expected (the server probes first)', () => {
    const [m] = machinesOf('ssh://b x86_64-linux');
    const result = machinesForDistributed([{ machine: m!, health: { status: 'unchecked' } }], context);
    assert.deepEqual(result.used, []);
    assert.equal(result.leftOut[0]!.code, 'builder-unchecked');
  });
});
