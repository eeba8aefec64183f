// The build picker's rows come from planBuild: its first row is the machine a build on `best`
// uses, and that is the machine `nix-builders select` names on the same machines file (Nix's
// choice, whether nix.conf reads the file or it only sits in the workspace). Before any check
// every row says it was not checked; two lines of the same user@host say what tells them apart.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listBuildersRequest, planBuildRequest, probeRequest, type BuildPlan } from '../../server/src/protocol';
import { LspClient } from './helpers/lspClient';

const cli = join(__dirname, '../../dist/cli.js');
let work: string;
let file: string;
let machinesText: string;

/** `nix-builders select` on the same file: the URI it says Nix would pick. */
function selectChoice(machines: string): string {
  const result = spawnSync(
    process.execPath,
    [cli, 'select', '--system', 'x86_64-linux', '--machines', machines, '--nix-version', '2.8', '--format', 'json'],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { chosen: string }).chosen;
}

async function planWith(
  nixConf: string,
  folders: string[],
  beforePlan?: (client: LspClient) => Promise<void>,
): Promise<Extract<BuildPlan, { ok: true }>> {
  const conf = mkdtempSync(join(work, 'conf-'));
  writeFileSync(join(conf, 'nix.conf'), nixConf);
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: conf, NIX_USER_CONF_FILES: join(conf, 'none') };
  delete env.NIX_CONFIG;
  const client = await LspClient.start({ env, folders, initializationOptions: { trusted: true } });
  client.settings = { nixVersion: '2.8', sshConfigFile: join(work, 'ssh_config') };
  try {
    await beforePlan?.(client);
    const plan = await client.connection.sendRequest(planBuildRequest, { file });
    assert.equal(plan.ok, true, JSON.stringify(plan));
    return plan as Extract<BuildPlan, { ok: true }>;
  } finally {
    await client.stop();
  }
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'nix-builders-picker-'));
  file = join(work, 'default.nix');
  writeFileSync(
    file,
    'derivation { name = "picked"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }\n',
  );
  // Real key files, so no line is refused for a missing key: the choice is the selector's alone.
  // `dead` is refused at once: nothing listens on 127.0.0.1 port 9 here.
  writeFileSync(join(work, 'ssh_config'), 'Host dead\n  HostName 127.0.0.1\n  Port 9\n  ConnectTimeout 5\n');
  for (const key of ['a', 'a2']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, key)]);
  // builder-a comes first in the file; builder-b is faster, so Nix picks it (load 0 ties, speed decides).
  machinesText = [
    `ssh://nixbuilder@builder-a x86_64-linux ${join(work, 'a')} 2 1`,
    `ssh://nixbuilder@builder-a x86_64-linux ${join(work, 'a2')} 2 1`,
    'ssh://nixbuilder@builder-b x86_64-linux - 2 3',
    'ssh://nixbuilder@arm aarch64-linux - 2 8',
  ].join('\n');
});
after(() => rmSync(work, { recursive: true, force: true }));

test("machines Nix reads: the first row is `nix-builders select`'s choice, marked Nix's; none checked yet; twins told apart", async () => {
  const machines = join(work, 'nix-machines');
  writeFileSync(machines, `${machinesText}\n`);
  const plan = await planWith(`builders = @${machines}\n`, []);
  const chosen = selectChoice(machines);
  assert.equal(chosen, 'ssh://nixbuilder@builder-b');
  assert.equal(plan.choices[0]!.uri, chosen, JSON.stringify(plan.choices.map((c) => c.uri)));
  assert.equal(plan.choices[0]!.id, plan.best);
  assert.equal(plan.choices[0]!.kind, 'chosen');
  assert.equal(plan.bestWhy, "Nix's choice");
  assert.equal(plan.choices.filter((c) => c.kind === 'chosen').length, 1, 'one row is the choice');
  for (const choice of plan.choices) {
    assert.equal(choice.checked, 'unchecked', choice.uri);
    assert.match(choice.detail, /not checked yet/, choice.uri);
  }
  const twins = plan.choices.filter((c) => c.label === 'nixbuilder@builder-a');
  assert.equal(twins.length, 2);
  assert.notEqual(twins[0]!.detail, twins[1]!.detail, 'the two builder-a rows read differently');
  assert.match(twins[0]!.tells, new RegExp(`^key ${join(work, 'a')}, line 1 of `));
  assert.match(twins[1]!.tells, new RegExp(`^key ${join(work, 'a2')}, line 2 of `));
  assert.equal(
    plan.choices.find((c) => c.label === 'nixbuilder@builder-b')!.tells,
    '',
    'a line no other shares needs no telling apart',
  );
  assert.match(
    plan.choices.find((c) => c.label === 'nixbuilder@arm')!.detail,
    /^builds for aarch64-linux, not x86_64-linux/,
  );
});

test("a workspace machines file Nix does not read: the first row is that file's pick, as `select --machines` says", async () => {
  const folder = join(work, 'workspace');
  mkdirSync(folder);
  const machines = join(folder, 'machines');
  writeFileSync(machines, `${machinesText}\n`);
  const plan = await planWith('builders =\n', [folder]);
  const chosen = selectChoice(machines);
  assert.equal(plan.choices[0]!.uri, chosen, JSON.stringify(plan.choices.map((c) => c.uri)));
  assert.equal(plan.best, plan.choices[0]!.id, 'a build on best uses the first row');
  assert.match(plan.bestWhy ?? '', new RegExp(`^what Nix would pick from ${machines}`));
  assert.match(plan.choices[0]!.detail, /which Nix does not read/);
});

test('a machine whose check failed is not first, though it is the fastest: Nix would fail to connect and move on', async () => {
  const machines = join(work, 'dead-machines');
  writeFileSync(machines, 'ssh://nixbuilder@dead x86_64-linux - 2 9\nssh://nixbuilder@builder-b x86_64-linux - 2 3\n');
  assert.equal(selectChoice(machines), 'ssh://nixbuilder@dead', 'on paper the dead one wins');
  const plan = await planWith(`builders = @${machines}\n`, [], async (client) => {
    const list = await client.connection.sendRequest(listBuildersRequest);
    const dead = list.sources.flatMap((s) => s.machines).find((m) => m.uri === 'ssh://nixbuilder@dead')!;
    const [health] = await client.connection.sendRequest(probeRequest, { ids: [dead.id] });
    assert.equal(health?.status, 'down', JSON.stringify(health));
  });
  assert.equal(plan.choices[0]!.uri, 'ssh://nixbuilder@builder-b');
  assert.equal(plan.choices[0]!.id, plan.best);
  const dead = plan.choices.find((c) => c.uri === 'ssh://nixbuilder@dead')!;
  assert.equal(dead.kind, 'down');
  assert.equal(dead.usable, false);
  assert.equal(dead.checked, 'down');
  assert.match(dead.detail, /^its last check failed: /);
  assert.match(plan.choices[0]!.detail, /not checked yet/, 'the other was never checked, and says so');
});
