// The builders a `nix.buildMachines` list made with `map` evaluates to, asked of real Nix the way
// the language server asks in a trusted workspace (evaluation.ts: restricted, no NIX_PATH, in the
// expression's scope): `map` and `builtins.map` over let-bound names, one attribute needing
// `pkgs` left unknown while the others are known, and what needs the configuration, or is no
// list of sets, unknown as a whole. On the machine's Nix and the version lab's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NixEvaluator, type EvaluatedEntries } from '../../server/src/nixModules/evaluation';
import type { NixValue } from '../../server/src/nixModules/nixValue';
import { nixCommand, type InstalledNix } from '../helpers/nix';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';

const text = `{ config, pkgs, ... }:
let
  hosts = [ "alpha" "beta" ];
  cores = 4;
  mkBuilder = host: {
    hostName = host;
    systems = [ "x86_64-linux" ];
    sshUser = pkgs.builderUser;
    maxJobs = cores * 2;
    speedFactor = 1.5;
  };
in
{
  nix.buildMachines =
    map (s: { hostName = "arm-\${s}"; system = s; protocol = null; }) [ "aarch64-linux" ]
    ++ builtins.map mkBuilder hosts
    ++ config.moreBuilders
    ++ [ "not a set" ]
    ++ map (h: h) 3;
}
`;

/** Each builder as plain JSON: bigints as strings, list items as their values, unknown as null. */
function plain(entries: EvaluatedEntries | undefined): unknown {
  const value = (v: NixValue | undefined): unknown =>
    v === undefined
      ? null
      : v.kind === 'int'
        ? `${v.value}`
        : v.kind === 'list'
          ? v.items.map((i) => value(i.value))
          : 'value' in v
            ? v.value
            : v.kind;
  return entries?.map((entry) => entry && Object.fromEntries([...entry].map(([name, v]) => [name, value(v)])));
}

async function evaluated(nix: InstalledNix, part: string): Promise<unknown> {
  const evaluator = new NixEvaluator('nix-instantiate', (program, args, cwd) =>
    nixCommand(program, args, nix.root, cwd),
  );
  const start = text.indexOf(part);
  assert.ok(start >= 0, part);
  return plain(await evaluator.evaluateEntries(text, { start, end: start + part.length }, '/'));
}

function cases(nix: InstalledNix) {
  test('map over a written list: each builder, with its null protocol', async () => {
    assert.deepEqual(
      await evaluated(nix, 'map (s: { hostName = "arm-${s}"; system = s; protocol = null; }) [ "aarch64-linux" ]'),
      [{ hostName: 'arm-aarch64-linux', system: 'aarch64-linux', protocol: 'null' }],
    );
  });

  test('builtins.map of a let-bound function over a let-bound list: what needs pkgs alone is unknown', async () => {
    assert.deepEqual(await evaluated(nix, 'builtins.map mkBuilder hosts'), [
      { hostName: 'alpha', systems: ['x86_64-linux'], sshUser: null, maxJobs: '8', speedFactor: 1.5 },
      { hostName: 'beta', systems: ['x86_64-linux'], sshUser: null, maxJobs: '8', speedFactor: 1.5 },
    ]);
  });

  test('what needs the configuration is unknown as a whole; an item that is no set is none; no list is unknown', async () => {
    assert.equal(await evaluated(nix, 'config.moreBuilders'), undefined);
    assert.deepEqual(await evaluated(nix, '[ "not a set" ]'), [undefined]);
    assert.equal(await evaluated(nix, 'map (h: h) 3'), undefined);
  });
}

const host = requireRealNix('a list made with map evaluates to the builders real Nix makes');
describe(`the machine's Nix`, { skip: host === undefined }, () => cases(host!));
for (const nix of requireLabNixes('a list made with map evaluates to the builders real Nix makes'))
  describe(`Nix in ${nix.root}`, () => cases(nix));
