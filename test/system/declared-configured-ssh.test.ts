// Check on a builder declared in a configuration.nix goes through that configuration's own
// programs.ssh, as the daemon's ssh would after a rebuild: `programs.ssh.extraConfig`'s Host
// entries (NixOS writes them to /etc/ssh/ssh_config) and `programs.ssh.knownHosts` (written to
// /etc/ssh/ssh_known_hosts). Against a real lab sshd: a hostName that only extraConfig knows
// checks healthy, and a knownHosts key other than the builder's is a changed host key that names
// programs.ssh.knownHosts of the file. The user's own ssh config knows neither alias.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listBuildersRequest, probeRequest } from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';
import { provisionBuilders, run, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';

describe("a declared builder is checked through its configuration's programs.ssh", { skip: !labCanRun() }, () => {
  let lab: BuilderLab<'healthy'>;
  let client: LspClient;
  let workspace: string;

  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy'] });
    const dir = mkdtempSync(join(lab.dir, 'declared-ssh-'));
    const healthy = lab.builders.healthy;
    // A key the builder does not have, of the same type: what a stale knownHosts entry holds.
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'impostor')]);
    const impostor = readFileSync(join(dir, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const real = healthy.hostPublicKeyLine.split(' ').slice(0, 2).join(' ');
    const host = (alias: string) =>
      [
        `Host ${alias}`,
        `  HostName ${healthy.address}`,
        `  Port ${healthy.port}`,
        `  User ${healthy.user}`,
        '  IdentitiesOnly yes',
        `  HostKeyAlias ${alias}`,
        // Only the configuration's known hosts (the global file), not root's own.
        '  UserKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
      ].join('\n    ');
    workspace = join(dir, 'workspace');
    mkdirSync(workspace);
    writeFileSync(
      join(workspace, 'configuration.nix'),
      `{ ... }:
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    { hostName = "declared-alias"; system = "${lab.system}"; sshKey = "${lab.clientKey}"; }
    { hostName = "declared-stale"; system = "${lab.system}"; sshKey = "${lab.clientKey}"; }
  ];
  programs.ssh.extraConfig = ''
    ${host('declared-alias')}
    ${host('declared-stale')}
  '';
  programs.ssh.knownHosts."declared-alias".publicKey = "${real}";
  programs.ssh.knownHosts."declared-stale".publicKey = "${impostor}";
}
`,
    );
    const userConfig = join(dir, 'ssh_config-user');
    writeFileSync(userConfig, '# the user knows no builder\n');
    writeFileSync(join(dir, 'nix.conf'), 'builders =\n');
    const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: dir, NIX_USER_CONF_FILES: join(dir, 'none') };
    delete env.NIX_CONFIG;
    delete env.NIX_SSHOPTS;
    client = await LspClient.start({ env, folders: [workspace], initializationOptions: { trusted: true } });
    client.settings = { nixVersion: '2.8', sshConfigFile: userConfig };
  });
  after(async () => {
    await client?.stop();
    await lab?.stop();
  });

  test('an extraConfig alias checks healthy; a knownHosts key that differs is a changed host key naming programs.ssh.knownHosts', async () => {
    const list = await client.connection.sendRequest(listBuildersRequest);
    const declared = list.sources.find((s) => s.id.startsWith('declared:'));
    assert.ok(declared, JSON.stringify(list.sources.map((s) => s.label)));
    const byUri = new Map(declared.machines.map((m) => [m.uri, m.id]));
    const health = await client.connection.sendRequest(probeRequest, { ids: [...byUri.values()] });
    const of = (uri: string) => health.find((h) => h.uri === uri)!;

    const alias = of('ssh://declared-alias');
    assert.equal(alias.status, 'up', JSON.stringify(alias.findings.map((f) => [f.code, f.message])));
    assert.equal(alias.facts.resolved?.hostName, lab.builders.healthy.address);

    const stale = of('ssh://declared-stale');
    const changed = stale.findings.find((f) => f.code === 'host-key-mismatch');
    assert.ok(changed, JSON.stringify(stale.findings.map((f) => [f.code, f.message])));
    assert.match(changed.message, /but programs\.ssh\.knownHosts of configuration\.nix expects SHA256:/);
    // The way out is to edit that setting, not ssh-keygen -R on a file the user never wrote.
    assert.match(changed.message, /replace the old key in programs\.ssh\.knownHosts of configuration\.nix/);
    assert.doesNotMatch(changed.message, /ssh-keygen -R/);
  });
});
