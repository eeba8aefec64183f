// Finding builders in the shapes real configurations take: `nix.buildMachines = …`,
// `nix = { buildMachines = …; }`, `config.nix…`, `rec`, `lib.mkIf`/`mkForce`, lists joined
// with `++`, a flake's inline module, with the position of every attribute; and the other
// options read (distributedBuilds, settings, programs.ssh).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findDeclarations, mentionsBuildMachines } from '../../server/src/nixModules/declarations';

const at = (text: string, span: { start: number; end: number }) => text.slice(span.start, span.end);

test('nix.buildMachines with every attribute placed at its name and value', () => {
  const text = '{\n  nix.buildMachines = [ { hostName = "a"; systems = [ "x86_64-linux" ]; maxJobs = 2; } ];\n}\n';
  const [setting] = findDeclarations(text).buildMachines;
  assert.equal(at(text, setting!.nameSpan), 'nix.buildMachines');
  const entry = setting!.entries[0]!;
  assert.equal(at(text, entry.span), '{ hostName = "a"; systems = [ "x86_64-linux" ]; maxJobs = 2; }');
  assert.deepEqual(
    [...entry.attributes.values()].map((a) => [a.name, at(text, a.nameSpan), at(text, a.valueSpan), a.value.kind]),
    [
      ['hostName', 'hostName', '"a"', 'string'],
      ['systems', 'systems', '[ "x86_64-linux" ]', 'list'],
      ['maxJobs', 'maxJobs', '2', 'int'],
    ],
  );
});

test('the shapes: nix = { … }, config., rec, mkIf, mkForce, ++, with, a flake module', () => {
  const shapes = [
    '{ nix = { buildMachines = [ { hostName = "a"; } ]; }; }',
    '{ config, ... }: { config.nix.buildMachines = [ { hostName = "a"; } ]; }',
    '{ config = { nix = rec { buildMachines = [ { hostName = "a"; } ]; }; }; }',
    '{ lib, config, ... }: { nix.buildMachines = lib.mkIf config.x (lib.mkForce [ { hostName = "a"; } ]); }',
    '{ lib, ... }: { nix.buildMachines = with lib; [ { hostName = "a"; } ] ++ lib.optional true { hostName = "b"; }; }',
    `{
      outputs = { nixpkgs, ... }: {
        nixosConfigurations.box = nixpkgs.lib.nixosSystem {
          modules = [ ({ ... }: { nix.buildMachines = [ { hostName = "a"; } ]; }) ];
        };
      };
    }`,
  ];
  for (const text of shapes) {
    const found = findDeclarations(text).buildMachines;
    assert.equal(found.length, 1, text);
    assert.deepEqual(
      found[0]!.entries.map((e) => at(text, e.attributes.get('hostName')!.valueSpan)),
      ['"a"'],
      text,
    );
  }
  // What is not a literal `{ … }` is kept, to be said unknown.
  const joined = shapes[4]!;
  assert.deepEqual(
    findDeclarations(joined).buildMachines[0]!.unknownParts.map((s) => at(joined, s)),
    ['lib.optional true { hostName = "b"; }'],
  );
});

test('inherit takes the name from the scope, inherit (x) from x', () => {
  const text = '{ nix.buildMachines = [ { inherit hostName; inherit (cfg) system maxJobs; } ]; }';
  const entry = findDeclarations(text).buildMachines[0]!.entries[0]!;
  assert.deepEqual(
    [...entry.attributes.values()].map((a) => [a.name, a.value.kind === 'unknown' ? a.value.expression : a.value.kind]),
    [
      ['hostName', 'hostName'],
      ['system', '(cfg).system'],
      ['maxJobs', '(cfg).maxJobs'],
    ],
  );
});

test('the options around builders are read with their values', () => {
  const text = `{
  nix.distributedBuilds = true;
  nix.settings = { builders-use-substitutes = true; trusted-users = [ "root" "nix" ]; };
  programs.ssh.extraConfig = ''
    Host builder
      Port 2222
  '';
  programs.ssh.knownHosts.builder.publicKey = "ssh-ed25519 AAAA";
  nix.buildMachines = [ ];
}`;
  const settings = findDeclarations(text).settings;
  assert.deepEqual(
    settings.map((s) => [s.option, s.value.kind]),
    [
      ['nix.distributedBuilds', 'bool'],
      ['nix.settings.builders-use-substitutes', 'bool'],
      ['nix.settings.trusted-users', 'list'],
      ['programs.ssh.extraConfig', 'unknown'],
      ['programs.ssh.knownHosts.builder.publicKey', 'string'],
    ],
  );
  // Set as a whole, knownHosts is found as itself and each binding under it by its full name.
  assert.deepEqual(
    findDeclarations('{ programs.ssh.knownHosts = { b.publicKey = "k"; }; nix.buildMachines = []; }').settings.map(
      (s) => s.option,
    ),
    ['programs.ssh.knownHosts', 'programs.ssh.knownHosts.b.publicKey'],
  );
});

test('text the grammar cannot read, or none at all, never throws', () => {
  for (const text of [
    '',
    '{',
    '{ nix.buildMachines = [ { hostName = ; } ',
    '${',
    "''",
    '{ nix.buildMachines = [ { "${x}" = 1; } ]; }',
    '\u0000\uffff',
  ]) {
    assert.doesNotThrow(() => findDeclarations(text), text);
  }
  assert.equal(mentionsBuildMachines('{ nix.gc.automatic = true; }'), false);
});
