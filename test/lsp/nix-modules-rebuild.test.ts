// The declared builders against the machines file the system generated: a machines file in the
// real Nix store behind a link (as NixOS makes /etc/nix/machines), named by the lab's nix.conf
// as the one Nix reads. A configuration.nix that declares other lines says "rebuild to apply"
// in the view and on `nix.buildMachines`; entries known only after evaluation reach the view in
// a trusted workspace, and nothing is evaluated (no nix-instantiate runs) in an untrusted one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildersChangedNotification, listBuildersRequest, type BuildersList } from '../../server/src/protocol';
import { positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';
import { marked, markingWrapper } from './helpers/markingWrapper';
import { requireRealNix } from '../helpers/requireNix';

const configuration = `{ config, pkgs, ... }:
let arm = "aarch64-linux"; in
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    { hostName = "big.example.org"; sshUser = "nix"; system = "x86_64-linux"; maxJobs = 8; }
    { hostName = "arm-box"; system = arm; }
  ];
}
`;

/** What the system was last built with: big had 4 jobs, old.example.org was still there. */
const generatedText =
  'ssh://nix@big.example.org x86_64-linux - 4 1 - - -\nssh://old.example.org x86_64-linux - 1 1 - - -\n';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-rebuild-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A nix.conf whose builders are `@machines`, that file being `text` as given (a plain file) or generated (in the store, behind a link). */
function lab(
  text: string,
  generated: boolean,
  declared = configuration,
): { env: NodeJS.ProcessEnv; workspace: string; marks: string } {
  const root = mkdtempSync(join(dir, 'lab-'));
  const etc = join(root, 'etc');
  mkdirSync(etc);
  const machines = join(etc, 'machines');
  if (generated) {
    const built = join(root, 'machines');
    writeFileSync(built, text);
    const inStore = execFileSync('nix-store', ['--add', built], { encoding: 'utf8' }).trim();
    symlinkSync(inStore, machines);
  } else writeFileSync(machines, text);
  writeFileSync(join(etc, 'nix.conf'), `builders = @${machines}\n`);
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  writeFileSync(join(workspace, 'configuration.nix'), declared);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const marks = join(root, 'marks');
  markingWrapper(bin, 'nix-instantiate', marks);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NIX_CONF_DIR: etc,
    NIX_USER_CONF_FILES: join(etc, 'none'),
    PATH: `${bin}:${process.env.PATH}`,
  };
  delete env.NIX_CONFIG;
  return { env, workspace, marks };
}

/** The real server on the lab, trusted or not, checking against Nix 2.8 (the machine's). */
async function serverOn(labbed: { env: NodeJS.ProcessEnv; workspace: string }, trusted: boolean): Promise<LspClient> {
  const client = await LspClient.start({
    env: labbed.env,
    folders: [labbed.workspace],
    initializationOptions: { trusted },
  });
  client.settings = { nixVersion: '2.8' };
  return client;
}

const declaredSource = (list: BuildersList) => list.sources.find((s) => s.id.startsWith('declared:'));

const nix = requireRealNix('the declared builders are compared with a machines file in the real Nix store');

describe('rebuild to apply', { skip: nix === undefined }, () => {
  test('trusted: evaluated entries are in the view, and the lines a rebuild adds, drops and changes are named', async () => {
    const labbed = lab(generatedText, true);
    const { workspace, marks } = labbed;
    const client = await serverOn(labbed, true);
    try {
      const source = declaredSource(await client.connection.sendRequest(listBuildersRequest));
      assert.ok(source);
      // `system = arm;` was evaluated: the builder is in the view as in the editor.
      assert.deepEqual(
        source.machines.map((m) => [m.uri, m.systems]),
        [
          ['ssh://nix@big.example.org', ['x86_64-linux']],
          ['ssh://arm-box', ['aarch64-linux']],
        ],
      );
      assert.match(marked(marks), /nix-instantiate --eval/);
      const [finding, ...rest] = source.findings ?? [];
      assert.equal(rest.length, 0);
      assert.equal(finding?.code, 'rebuild-to-apply');
      assert.equal(finding.title, 'Rebuild to apply (1 new, 1 gone, 1 changed)');
      assert.match(
        finding.message,
        /machines, generated when the system was last built, is not what configuration\.nix declares now/,
      );
      assert.match(finding.message, /New: `ssh:\/\/arm-box aarch64-linux - 1 1 - - -`\./);
      assert.match(finding.message, /Gone: `ssh:\/\/old\.example\.org x86_64-linux - 1 1 - - -`\./);
      assert.match(
        finding.message,
        /Changed: `ssh:\/\/nix@big\.example\.org x86_64-linux - 4 1 - - -` becomes `ssh:\/\/nix@big\.example\.org x86_64-linux - 8 1 - - -`\./,
      );
      assert.match(finding.message, /Run `sudo nixos-rebuild switch` to apply the configuration\./);
      assert.deepEqual(finding.action, {
        kind: 'copy-command',
        title: 'Copy sudo nixos-rebuild switch',
        command: 'sudo nixos-rebuild switch',
      });

      // The same on the attribute in the editor.
      const uri = await client.open(join(workspace, 'configuration.nix'), 'nix', configuration);
      const diagnostics = await client.diagnostics(uri);
      const rebuild = diagnostics.find((d) => d.code === 'nixos-rebuild-to-apply');
      assert.ok(rebuild, JSON.stringify(diagnostics));
      assert.equal(rebuild.severity, 3, 'information: a state, not a mistake');
      assert.deepEqual(rebuild.range.start, positionOf(configuration, 'nix.buildMachines'));
      assert.match(rebuild.message as string, /Rebuild to apply.*New: `ssh:\/\/arm-box/s);

      // Declared as built: nothing to apply.
      const built = configuration
        .replace('maxJobs = 8', 'maxJobs = 4')
        .replace('"arm-box"; system = arm;', '"old.example.org"; system = "x86_64-linux";');
      await client.change(uri, built);
      const after = await client.diagnostics(uri);
      assert.equal(after.filter((d) => d.code === 'nixos-rebuild-to-apply').length, 0, JSON.stringify(after));
    } finally {
      await client.stop();
    }
  });

  test('untrusted: nothing is evaluated, so the entry stays out of the view and the lines cannot be compared', async () => {
    const labbed = lab(generatedText, true);
    const { env, workspace, marks } = labbed;
    const client = await serverOn(labbed, false);
    try {
      const source = declaredSource(await client.connection.sendRequest(listBuildersRequest));
      assert.deepEqual(
        source?.machines.map((m) => m.uri),
        ['ssh://nix@big.example.org'],
      );
      assert.match(source.description, /1 known only once the system is built: not shown/);
      assert.deepEqual(
        source.findings?.map((f) => [f.code, f.title]),
        [['rebuild-to-apply-unknown', `Cannot compare with ${env.NIX_CONF_DIR}/machines`]],
      );
      const uri = await client.open(join(workspace, 'configuration.nix'), 'nix', configuration);
      const diagnostics = await client.diagnostics(uri);
      assert.equal(diagnostics.filter((d) => d.code === 'nixos-rebuild-to-apply').length, 0);
      assert.equal(marked(marks), '', 'no nix-instantiate ran in the untrusted workspace');
    } finally {
      await client.stop();
    }
  });

  test('a machines file written by hand (not NixOS or nix-darwin) is not compared, and the view says so', async () => {
    const labbed = lab(generatedText, false);
    const { workspace } = labbed;
    const client = await serverOn(labbed, true);
    try {
      const source = declaredSource(await client.connection.sendRequest(listBuildersRequest));
      assert.deepEqual(source?.findings, []);
      assert.match(
        source.description,
        /machines file is not generated by NixOS or nix-darwin.*nothing here is compared/,
      );
      const uri = await client.open(join(workspace, 'configuration.nix'), 'nix', configuration);
      const diagnostics = await client.diagnostics(uri);
      assert.equal(diagnostics.filter((d) => d.code === 'nixos-rebuild-to-apply').length, 0);
    } finally {
      await client.stop();
    }
  });

  test('after the rebuild (the link now points at a new file in the store) the diagnostic goes away', async () => {
    const labbed = lab(generatedText, true);
    const { env, workspace } = labbed;
    const client = await serverOn(labbed, true);
    try {
      await client.connection.sendRequest(listBuildersRequest); // the server watches what it listed
      const uri = await client.open(join(workspace, 'configuration.nix'), 'nix', configuration);
      const before = await client.diagnostics(uri);
      assert.ok(
        before.some((d) => d.code === 'nixos-rebuild-to-apply'),
        JSON.stringify(before),
      );
      const earlier = client.publishes(uri).length;
      // What `nixos-rebuild switch` does to /etc/nix/machines: a new store file, the link replaced.
      const rebuilt = join(env.NIX_CONF_DIR!, '..', 'machines');
      writeFileSync(
        rebuilt,
        'ssh://nix@big.example.org x86_64-linux - 8 1 - - -\nssh://arm-box aarch64-linux - 1 1 - - -\n',
      );
      const inStore = execFileSync('nix-store', ['--add', rebuilt], { encoding: 'utf8' }).trim();
      const link = join(env.NIX_CONF_DIR!, 'machines');
      symlinkSync(inStore, `${link}.new`);
      renameSync(`${link}.new`, link);
      // A publish after the one before, without an edit: the server compared again.
      await client.diagnostics(
        uri,
        (p) =>
          client.publishes(uri).indexOf(p) >= earlier &&
          !p.diagnostics.some((d) => d.code === 'nixos-rebuild-to-apply'),
      );
    } finally {
      await client.stop();
    }
  });

  test('a .nix file written on disk reaches the view after the watched-files event', async () => {
    const labbed = lab(generatedText, true);
    const { workspace } = labbed;
    const client = await serverOn(labbed, false);
    try {
      const before = await client.connection.sendRequest(listBuildersRequest);
      assert.equal(before.sources.filter((s) => s.id.startsWith('declared:')).length, 1);
      const changed = new Promise<void>((resolve) =>
        client.connection.onNotification(buildersChangedNotification, () => resolve()),
      );
      mkdirSync(join(workspace, 'hosts'));
      const added = join(workspace, 'hosts', 'laptop.nix');
      writeFileSync(added, '{ nix.buildMachines = [ { hostName = "old.example.org"; system = "x86_64-linux"; } ]; }\n');
      // What VS Code's watcher of **/*.nix sends (languageClient.ts).
      await client.connection.sendNotification('workspace/didChangeWatchedFiles', {
        changes: [{ uri: `file://${added}`, type: 1 }],
      });
      await changed;
      const list = await client.connection.sendRequest(listBuildersRequest);
      const declared = list.sources.filter((s) => s.id.startsWith('declared:'));
      assert.deepEqual(
        declared.map((s) => [s.file, s.machines.map((m) => m.uri)]),
        [
          [join(workspace, 'configuration.nix'), ['ssh://nix@big.example.org']],
          [added, ['ssh://old.example.org']],
        ],
      );
      // laptop.nix declares old.example.org's line exactly as generated, and big's line is
      // configuration.nix's to compare: nothing for laptop.nix to apply.
      assert.deepEqual(declared[1]!.findings, []);
    } finally {
      await client.stop();
    }
  });

  test('trusted: the builders a map list makes are in the view and compared; untrusted, it cannot compare', async () => {
    const mapped = `{ ... }:
let hosts = [ "big.example.org" "old.example.org" ]; in
{
  nix.distributedBuilds = true;
  nix.buildMachines = map (h: { hostName = h; system = "x86_64-linux"; }) hosts;
}
`;
    const labbed = lab(generatedText, true, mapped);
    const trusted = await serverOn(labbed, true);
    try {
      const source = declaredSource(await trusted.connection.sendRequest(listBuildersRequest));
      assert.ok(source);
      assert.equal(source.label, 'configuration.nix — 2 builders (declared)');
      assert.deepEqual(
        source.machines.map((m) => m.uri),
        ['ssh://big.example.org', 'ssh://old.example.org'],
      );
      const [finding] = source.findings ?? [];
      // old.example.org is as built; big logs in as nix in the generated file, not here: a new line and a gone one.
      assert.equal(finding?.title, 'Rebuild to apply (1 new, 1 gone)', JSON.stringify(source.findings));
    } finally {
      await trusted.stop();
    }
    const untrusted = await serverOn(labbed, false);
    try {
      const source = declaredSource(await untrusted.connection.sendRequest(listBuildersRequest));
      assert.ok(source);
      assert.deepEqual(source.machines, []);
      assert.equal(source.label, 'configuration.nix — builders known after evaluation (declared)');
      assert.match(
        source.description ?? '',
        /0 builders declared in nix.buildMachines \(a part of the list not written out \(`map f hosts`\): its builders are known only after evaluation\)/,
      );
      assert.match(JSON.stringify(source.findings), /[Cc]annot compare/);
    } finally {
      await untrusted.stop();
    }
  });

  test("several hosts: only this machine's configuration is compared; another host's says so and takes no line from it", async () => {
    const here = hostname().split('.')[0]!;
    // This machine's configuration, named by its networking.hostName.
    const ours = configuration.replace(
      '{\n  nix.distributedBuilds',
      `{\n  networking.hostName = "${here}";\n  nix.distributedBuilds`,
    );
    const labbed = lab(generatedText, true, ours);
    const { workspace } = labbed;
    // Another host's, one file with its hostName; it declares old.example.org, which this machine loses.
    mkdirSync(join(workspace, 'hosts'));
    const faraway = join(workspace, 'hosts', 'faraway.nix');
    const farawayText = `{
  networking.hostName = "faraway";
  nix.distributedBuilds = true;
  nix.buildMachines = [ { hostName = "old.example.org"; system = "x86_64-linux"; } { hostName = "far-builder"; system = "x86_64-linux"; } ];
}
`;
    writeFileSync(faraway, farawayText);
    // And a flake's: nixosConfigurations.yonder lists a module with no hostName of its own.
    mkdirSync(join(workspace, 'yonder'));
    writeFileSync(
      join(workspace, 'flake.nix'),
      `{ outputs = { nixpkgs, ... }: { nixosConfigurations.yonder = nixpkgs.lib.nixosSystem { modules = [ ./yonder/builders.nix ]; }; }; }\n`,
    );
    const yonder = join(workspace, 'yonder', 'builders.nix');
    writeFileSync(
      yonder,
      '{ nix.distributedBuilds = true; nix.buildMachines = [ { hostName = "yonder-builder"; system = "aarch64-linux"; } ]; }\n',
    );
    const client = await serverOn(labbed, true);
    try {
      const list = await client.connection.sendRequest(listBuildersRequest);
      const declared = new Map(list.sources.filter((s) => s.id.startsWith('declared:')).map((s) => [s.file, s]));
      const mine = declared.get(join(workspace, 'configuration.nix'));
      // old.example.org is gone from this machine: faraway.nix declaring it does not keep it here.
      assert.deepEqual(
        mine?.findings?.map((f) => f.title),
        ['Rebuild to apply (1 new, 1 gone, 1 changed)'],
        JSON.stringify(mine?.findings),
      );
      assert.match(mine.findings![0]!.message, /Gone: `ssh:\/\/old\.example\.org x86_64-linux - 1 1 - - -`\./);
      for (const [file, host, builder] of [
        [faraway, 'faraway', 'ssh://far-builder'],
        [yonder, 'yonder', 'ssh://yonder-builder'],
      ] as const) {
        const source = declared.get(file);
        assert.ok(source);
        assert.ok(
          source.machines.some((m) => m.uri === builder),
          `${host}'s builders are still in the view`,
        );
        assert.deepEqual(
          source.findings?.map((f) => [f.code, f.title]),
          [['declared-for-other-host', `Declared for ${host}: not compared with this machine`]],
        );
        assert.match(source.findings![0]!.message, new RegExp(`This machine is ${here.toLowerCase()}`));
      }
      // In the editor: another host's file gets no "rebuild to apply"; this machine's does.
      const farUri = await client.open(faraway, 'nix', farawayText);
      const farDiagnostics = await client.diagnostics(farUri);
      assert.equal(
        farDiagnostics.filter((d) => d.code === 'nixos-rebuild-to-apply').length,
        0,
        JSON.stringify(farDiagnostics),
      );
      const uri = await client.open(join(workspace, 'configuration.nix'), 'nix', ours);
      const diagnostics = await client.diagnostics(uri);
      assert.match(
        String(diagnostics.find((d) => d.code === 'nixos-rebuild-to-apply')?.message ?? JSON.stringify(diagnostics)),
        /Gone: `ssh:\/\/old\.example\.org/,
      );
    } finally {
      await client.stop();
    }
  });
});
