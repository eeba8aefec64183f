// Builders declared in the workspace's .nix files reach the Remote Builders view: one source
// per file, each builder as the machine NixOS would write (placed at its entry in the .nix
// file), marked as not used by Nix until the system is rebuilt, and known to the probes by id.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listBuildersRequest, probeRequest } from '../../server/src/protocol';
import { LspClient } from './helpers/lspClient';
import { ownNixConf } from './helpers/nixModuleSession';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-declared-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('each .nix file that declares builders is a source; entries known only once built are counted, not shown', async () => {
  const workspace = mkdtempSync(join(dir, 'workspace-'));
  copyFileSync(
    join(__dirname, '../fixtures/nixModules/blog-remote-builders.nix'),
    join(workspace, 'configuration.nix'),
  );
  mkdirSync(join(workspace, 'hosts'));
  // A flake's module: `nix = { … }`, a `let` name that only evaluation knows, `++`.
  writeFileSync(
    join(workspace, 'hosts', 'laptop.nix'),
    `{ pkgs, ... }:
let arm = "aarch64-linux"; in
{
  nix = {
    distributedBuilds = true;
    buildMachines = [
      { hostName = "arm-box"; system = arm; }
    ] ++ [
      {
        hostName = "big.example.org";
        sshUser = "nix";
        systems = [ "x86_64-linux" ];
        maxJobs = 16;
        speedFactor = 4;
      }
    ];
  };
}
`,
  );
  writeFileSync(join(workspace, 'default.nix'), '{ pkgs ? import <nixpkgs> {} }: pkgs.hello\n');
  const client = await LspClient.start({ env: ownNixConf(dir), folders: [workspace] });
  client.settings = { nixVersion: '2.8' };
  try {
    const list = await client.connection.sendRequest(listBuildersRequest);
    const declared = list.sources.filter((s) => s.id.startsWith('declared:'));
    assert.deepEqual(
      declared.map((s) => [
        s.file,
        s.usedByNix,
        s.machines.map((m) => [m.uri, m.systems, m.maxJobs, m.speedFactor, m.location]),
      ]),
      [
        [
          join(workspace, 'configuration.nix'),
          false,
          [
            [
              'ssh-ng://builder@ssh.example.tld',
              ['x86_64-linux', 'i686-linux'],
              3,
              2,
              { file: join(workspace, 'configuration.nix'), line: 4, character: 4 },
            ],
          ],
        ],
        [
          join(workspace, 'hosts', 'laptop.nix'),
          false,
          [
            [
              'ssh://nix@big.example.org',
              ['x86_64-linux'],
              16,
              4,
              { file: join(workspace, 'hosts', 'laptop.nix'), line: 8, character: 6 },
            ],
          ],
        ],
      ],
    );
    assert.match(
      declared[1]!.description,
      /2 builders declared in nix\.buildMachines \(1 known only once the system is built: not shown\)/,
    );
    // Checkable like any machine: the probe knows the id (and, untrusted, connects nowhere).
    const [health] = await client.connection.sendRequest(probeRequest, { ids: [declared[1]!.machines[0]!.id] });
    assert.equal(health?.uri, 'ssh://nix@big.example.org');
    assert.equal(health?.status, 'untrusted');
  } finally {
    await client.stop();
  }
});
