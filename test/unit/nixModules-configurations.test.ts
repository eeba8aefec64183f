// The builders' own configurations read from a workspace's files (real files in a temporary
// folder): a file imported by none is a configuration with everything it imports (a folder
// import is its default.nix; a cycle ends), named by networking.hostName (with its domain) or a
// flake's nixosConfigurations name; and the programs.ssh settings of a file, with known-host
// names that hold dots and an extraConfig written as an indented string.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { builderConfigurations } from '../../server/src/nixModules/builderConfigurations';
import { appliesTo, configuredSsh } from '../../server/src/nixModules/configuredSsh';
import { findDeclarations } from '../../server/src/nixModules/declarations';

const dir = mkdtempSync(join(tmpdir(), 'nix-builders-configurations-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function files(tree: Record<string, string>): string[] {
  const root = mkdtempSync(join(dir, 'ws-'));
  return Object.entries(tree).map(([path, text]) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
    return join(root, path);
  });
}
const read = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

test('a configuration is a file no other imports, with its imports (a folder means its default.nix; a cycle ends)', () => {
  const paths = files({
    'builder/configuration.nix':
      '{ imports = [ ./nix ./users.nix ]; networking = { hostName = "big"; domain = "example.org"; }; }',
    'builder/nix/default.nix':
      '{ imports = [ ../configuration.nix ]; nix.settings.trusted-users = [ "root" "@wheel" ]; }',
    'builder/users.nix': '{ users.users.nix = { isNormalUser = true; extraGroups = [ "wheel" ]; group = "nix"; }; }',
    'laptop.nix': '{ networking.hostName = "laptop"; }',
  });
  const found = builderConfigurations(paths, read);
  assert.deepEqual(
    found.map((c) => [c.names, c.trustedUsers.map((t) => t.setting.option), [...c.groups]]),
    [
      [['laptop'], [], []],
      [['big', 'big.example.org'], ['nix.settings.trusted-users'], [['nix', ['wheel', 'nix']]]],
    ],
  );
});

test("a flake's nixosConfigurations.<name> names its modules' configuration, both ways of writing it", () => {
  for (const outputs of [
    '{ nixosConfigurations.builder = nixpkgs.lib.nixosSystem { modules = [ ./hosts/builder.nix ]; }; }',
    '{ nixosConfigurations = { builder = nixpkgs.lib.nixosSystem { system = "x86_64-linux"; modules = [ ./hosts/builder.nix ]; }; }; }',
  ]) {
    const paths = files({
      'flake.nix': `{ outputs = { self, nixpkgs }: ${outputs}; }`,
      'hosts/builder.nix': '{ nix.trustedUsers = [ "nix" ]; }',
    });
    const found = builderConfigurations(paths, read);
    assert.deepEqual(
      found.map((c) => [c.names, c.trustedUsers.map((t) => t.setting.option)]),
      [[['builder'], ['nix.trustedUsers']]],
      outputs,
    );
  }
});

test('programs.ssh: an indented extraConfig, known hosts by name, hostNames or extraHostNames (names with dots)', () => {
  const text = `{
  programs.ssh.extraConfig = ''
    Host nixos-builder
      HostName 158.193.154.239
  '';
  programs.ssh.knownHosts = {
    "big.example.org".publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    other = { hostNames = [ "10.0.0.2" ]; publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"; };
    third = { extraHostNames = [ "third.lan" ]; publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"; };
  };
}
`;
  const configured = configuredSsh(findDeclarations(text))!;
  assert.match(configured.extraConfig!, /^\s*Host nixos-builder\n\s*HostName 158\.193\.154\.239\n/);
  assert.deepEqual(
    configured.knownHosts.map((k) => k.names),
    [['big.example.org'], ['10.0.0.2'], ['third', 'third.lan']],
  );
  assert.equal(appliesTo(configured, 'nixos-builder'), true);
  assert.equal(appliesTo(configured, 'third.lan'), true);
  assert.equal(appliesTo(configured, 'elsewhere'), false);
  assert.equal(configuredSsh(findDeclarations('{ programs.ssh.extraConfig = "Host ${x}"; }')), undefined);
});
