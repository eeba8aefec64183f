// Checking builders from the Remote Builders view against real sshd + nix-daemon builders
// (started by runTests.ts): a healthy one turns green with its facts, a closed port and an
// untrusted user turn red with the cause, the status bar counts them, and a screenshot shows it.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { Node } from '../../../client/src/tree/items';
import {
  assertShowsRows,
  assertShowsText,
  canScreenshot,
  extensionId,
  screenshotShowing,
  showTheViewAlone,
  waitFor,
  jsonFromEnv,
} from './helpers';

const lab = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB');

suite('Builder health in the view', function () {
  suiteSetup(function () {
    if (!lab) this.skip();
  });

  async function labMachines(api: NixBuildersApi) {
    const machines = await waitFor('the lab machines in the view', async () => {
      api.machinesTree.refresh();
      const all = await api.machinesTree.machines();
      const found = Object.fromEntries(
        Object.entries(lab!).map(([name, uri]) => [name, all.find((m) => m.uri === uri)]),
      );
      return Object.values(found).every(Boolean) ? found : undefined;
    });
    return machines as Record<string, NonNullable<(typeof machines)[string]>>;
  }

  test('checking the lab builders shows up, connection refused and untrusted user', async () => {
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    const machines = await labMachines(api);
    const ids = Object.values(machines).map((m) => m.id);
    for (const id of ids) await vscode.commands.executeCommand('nixBuilders.ping', id);

    const healthy = await waitFor(
      'the healthy builder to be up',
      () => {
        const health = api.machinesTree.healthOf(machines.healthy!.id);
        return health && health.status !== 'probing' ? health : undefined;
      },
      30_000,
    );
    assert.equal(healthy.status, 'up', JSON.stringify(healthy.findings));
    assert.ok(healthy.facts.nixVersion, 'the Nix version is a fact');

    const refused = api.machinesTree.healthOf(machines.closedPort!.id);
    assert.equal(refused?.status, 'down');
    assert.ok(
      refused.findings.some((f) => f.code === 'connection-refused'),
      JSON.stringify(refused.findings),
    );

    const untrusted = api.machinesTree.healthOf(machines.untrusted!.id);
    assert.equal(untrusted?.status, 'down');
    assert.ok(
      untrusted.findings.some((f) => f.code === 'untrusted-user'),
      JSON.stringify(untrusted.findings),
    );

    // The tree renders it: the healthy item is green and expands to its facts.
    const node = (await api.machinesTree.machineNode(machines.healthy!.id)) as Node;
    const item = api.machinesTree.getTreeItem(node);
    assert.match(String(item.contextValue), /^machine up/);
    assert.match(String(item.description), / ms$/);
    const children = await api.machinesTree.getChildren(node);
    assert.ok(children.some((child) => child.kind === 'fact' && child.label === 'Nix'));
  });

  test('the view after a check (screenshot)', async function () {
    if (!canScreenshot()) this.skip(); // desktop VS Code: no picture to look at
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    const machines = await labMachines(api);
    // Saved first: closing an edited file would ask whether to save it.
    await vscode.workspace.saveAll(false);
    // Only the lab's machines open (the test expands them), and a wider sidebar.
    await showTheViewAlone();
    const revealLab = async () => {
      for (const name of ['healthy', 'untrusted', 'closedPort']) {
        const node = await api.machinesTree.machineNode(machines[name]!.id);
        if (node) await api.machinesView.reveal(node, { expand: true, select: name === 'healthy' });
      }
    };
    // The picture README shows: each lab builder with its state, the healthy one's facts and
    // each failure's cause and fix under it, and the count in the status bar.
    await screenshotShowing(
      'health',
      (shot) => {
        assertShowsRows(shot, 'sidebar', [
          /^lab\.machines 3 machines, not used by Nix · /,
          /^nix-healthy x86_64-linux · 1 job · speed 1 · \d+ ms\b/,
          /^Nix \d+\.\d+/,
          /^trusted user yes\b/,
          /^nix-closed-port x86_64-linux · 1 job · speed 1 · connection refused$/,
          // The finding's title alone (its code is in the tooltip), then its cause and fix under it.
          /^connection refused$/,
          /^Nothing accepts SSH connections at /,
          /^Start sshd on the builder\b/,
          /^nix-untrusted x86_64-linux · 1 job · speed 1 · user not trusted$/,
          /^user not trusted Copy the command that makes the builder trust \S+$/,
        ]);
        assertShowsText(shot, 'statusbar', [/builders 1\/3 up/]);
      },
      10_000,
      revealLab,
    );
  });
});
