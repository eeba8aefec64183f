// `sshUser` against the builder's own trusted-users, when the builder's NixOS configuration is in
// the workspace too: the nix.dev tutorial's two machines (the local module logs in as
// `remotebuild`; the remote machine's configuration imports `remote-builder.nix`, which trusts
// it) are clean; a list without the user is a Warning on `sshUser` with a fix that adds it to
// that list, in the other file; an `@group` the user is not known to be in says so; a flake's
// `nixosConfigurations.<name>` names its modules' machine; root needs no entry.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver-protocol';
import { applyEdits, positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

const fixtures = join(__dirname, '../fixtures/nixModules');
const seed = readFileSync(join(fixtures, 'trusted-users/remote-builder.nix'), 'utf8');
const local = readFileSync(join(fixtures, 'nixdev-distributed-builds.nix'), 'utf8');

let dir: string;
let count = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-trusted-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);
const trust = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => String(d.code).startsWith('nixos-ssh-user'));

/** A workspace with the tutorial's two machines; `builderModule` is the remote's remote-builder.nix. */
function workspace(builderModule: string): { root: string; module: string; configuration: string } {
  const root = join(dir, `ws-${count++}`);
  mkdirSync(join(root, 'local'), { recursive: true });
  mkdirSync(join(root, 'remote'));
  const configuration = join(root, 'local', 'configuration.nix');
  writeFileSync(configuration, local);
  copyFileSync(join(fixtures, 'trusted-users/configuration.nix'), join(root, 'remote', 'configuration.nix'));
  const module = join(root, 'remote', 'remote-builder.nix');
  writeFileSync(module, builderModule);
  return { root, module, configuration };
}

async function started(root: string): Promise<LspClient> {
  const dynamic = { dynamicRegistration: true };
  const client = await LspClient.start({
    folders: [root],
    capabilities: { textDocument: { synchronization: dynamic, codeAction: dynamic } },
  });
  client.settings = { nixVersion: '2.8' };
  return client;
}

test("the nix.dev tutorial's two machines: remotebuild is in the builder's trusted-users (through its imports), nothing to say", async () => {
  const { root, configuration } = workspace(seed);
  const client = await started(root);
  try {
    const uri = await client.open(configuration, 'nix', local);
    assert.deepEqual(trust(await client.diagnostics(uri)), []);
  } finally {
    await client.stop();
  }
});

test('a trusted-users list without the user: a Warning on sshUser naming the file, and a fix that adds it there; the edited file clears it', async () => {
  const without = seed.replace('[ "remotebuild" ]', '[\n    "root"\n    "alice"\n  ]');
  const { root, module, configuration } = workspace(without);
  const client = await started(root);
  try {
    const uri = await client.open(configuration, 'nix', local);
    const found = trust(await client.diagnostics(uri));
    assert.deepEqual(
      found.map((d) => [d.code, d.severity]),
      [['nixos-ssh-user-untrusted', DiagnosticSeverity.Warning]],
    );
    const [warning] = found as [Diagnostic];
    assert.deepEqual(warning.range.start, positionOf(local, '"remotebuild"'));
    const message = messageOf(warning);
    assert.ok(
      message.includes(
        '`remotebuild` is not in the trusted-users of builder remotebuilder\'s own configuration (../remote/remote-builder.nix line 13: `trusted-users = [ "root" "alice" ]`)',
      ),
      message,
    );
    assert.match(message, /you are not privileged to build input-addressed derivations/);
    const actions = await client.codeActions(uri, warning.range, [warning]);
    assert.deepEqual(
      actions.map((a) => a.title),
      ['Add remotebuild to the trusted-users of remote-builder.nix'],
    );
    const moduleUri = pathToFileURL(module).toString();
    const edits = actions[0]!.edit!.changes!;
    assert.deepEqual(Object.keys(edits), [moduleUri], 'the fix edits the builder’s file, not this one');
    const fixed = applyEdits(without, edits[moduleUri]!);
    assert.equal(fixed, seed.replace('[ "remotebuild" ]', '[\n    "root"\n    "alice"\n    "remotebuild"\n  ]'));
    // The builder's file, edited in the editor: this file is checked against it again.
    await client.open(module, 'nix', without);
    await client.change(moduleUri, fixed);
    assert.deepEqual(trust(await client.diagnostics(uri, (p) => trust(p.diagnostics).length === 0)), []);
  } finally {
    await client.stop();
  }
});

test('a list on one line gets the user before its `]`; the older nix.trustedUsers is read too', async () => {
  for (const [list, added] of [
    ['nix.settings.trusted-users = [ "root" ];', 'nix.settings.trusted-users = [ "root" "remotebuild" ];'],
    ['nix.trustedUsers = ["root"];', 'nix.trustedUsers = ["root" "remotebuild"];'],
  ] as const) {
    const module = seed.replace('nix.settings.trusted-users = [ "remotebuild" ];', list);
    const { root, configuration } = workspace(module);
    const client = await started(root);
    try {
      const uri = await client.open(configuration, 'nix', local);
      const [warning] = trust(await client.diagnostics(uri));
      assert.equal(warning?.code, 'nixos-ssh-user-untrusted', list);
      const [action] = await client.codeActions(uri, warning.range, [warning]);
      const edits = Object.values(action!.edit!.changes!)[0]!;
      assert.equal(applyEdits(module, edits), module.replace(list, added));
    } finally {
      await client.stop();
    }
  }
});

test('an @group: unknown unless the configuration puts the user in it (said as Information); in it, nothing', async () => {
  const wheel = seed.replace('[ "remotebuild" ]', '[ "root" "@wheel" ]');
  const notIn = workspace(wheel);
  const client = await started(notIn.root);
  try {
    const uri = await client.open(notIn.configuration, 'nix', local);
    const found = trust(await client.diagnostics(uri));
    assert.deepEqual(
      found.map((d) => [d.code, d.severity]),
      [['nixos-ssh-user-trust-unknown', DiagnosticSeverity.Information]],
    );
    assert.match(messageOf(found[0]!), /whether it is in group `wheel` there is not known here/);
    assert.match(messageOf(found[0]!), /users\.users\.remotebuild\.extraGroups/);
  } finally {
    await client.stop();
  }
  const inWheel = workspace(
    wheel.replace('group = "remotebuild";', 'group = "remotebuild";\n    extraGroups = [ "wheel" ];'),
  );
  const second = await started(inWheel.root);
  try {
    const uri = await second.open(inWheel.configuration, 'nix', local);
    assert.deepEqual(trust(await second.diagnostics(uri)), []);
  } finally {
    await second.stop();
  }
});

test("a flake's nixosConfigurations.<name> is the builder of that host name; root needs no entry; another host is not compared", async () => {
  const root = join(dir, `flake-${count++}`);
  mkdirSync(join(root, 'hosts'), { recursive: true });
  writeFileSync(
    join(root, 'flake.nix'),
    `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  outputs = { self, nixpkgs }: {
    nixosConfigurations = {
      laptop = nixpkgs.lib.nixosSystem { system = "x86_64-linux"; modules = [ ./hosts/laptop.nix ]; };
      remotebuilder = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ ./hosts/builder.nix { services.openssh.enable = true; } ];
      };
    };
  };
}
`,
  );
  writeFileSync(join(root, 'hosts', 'builder.nix'), '{ nix.settings.trusted-users = [ "root" ]; }\n');
  const laptop = `{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    { hostName = "remotebuilder"; sshUser = "remotebuild"; system = "x86_64-linux"; }
    { hostName = "remotebuilder"; sshUser = "root"; system = "aarch64-linux"; }
    { hostName = "elsewhere"; sshUser = "remotebuild"; system = "x86_64-linux"; }
  ];
}
`;
  writeFileSync(join(root, 'hosts', 'laptop.nix'), laptop);
  const client = await started(root);
  try {
    const uri = await client.open(join(root, 'hosts', 'laptop.nix'), 'nix', laptop);
    const found = trust(await client.diagnostics(uri));
    assert.deepEqual(
      found.map((d) => [d.code, d.range.start.line]),
      [['nixos-ssh-user-untrusted', 3]],
    );
    assert.match(messageOf(found[0]!), /builder\.nix line 1: `trusted-users = \[ "root" \]`/);
  } finally {
    await client.stop();
  }
});
