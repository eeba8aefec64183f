// What a failed check tells the user, and where they read it, against the lab's real builder
// whose port is closed: the finding's title, then its cause and fix as rows under it (no code
// repeated), a click that shows the whole text with a way to the line, the same problem in the
// Problems panel on its machines line, and the result kept for the next window with its age.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import { machineItem, type Node } from '../../../client/src/tree/items';
import { age } from '../../../client/src/tree/lastResults';
import type { BuilderMachine } from '../../../server/src/protocol';
import {
  assertRowActions,
  assertShowsRows,
  assertShowsText,
  extensionId,
  screenshotShowing,
  waitFor,
  jsonFromEnv,
} from './helpers';

const lab = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB');

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

suite('A failed check, where the user reads it', function () {
  let api: NixBuildersApi;
  let closed: BuilderMachine;

  suiteSetup(async function () {
    if (!lab) this.skip();
    api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    closed = await waitFor('the closed-port lab builder', async () => {
      api.machinesTree.refresh();
      return (await api.machinesTree.machines()).find((m) => m.uri === lab!.closedPort);
    });
    await vscode.commands.executeCommand('nixBuilders.ping', closed.id);
    await waitFor('its check to finish', () => api.machinesTree.healthOf(closed.id)?.status === 'down', 30_000);
  });

  async function findingNode(): Promise<Node> {
    const machine = await api.machinesTree.machineNode(closed.id);
    assert.ok(machine);
    const finding = (await api.machinesTree.getChildren(machine)).find(
      (n) => n.kind === 'finding' && n.finding.code === 'connection-refused',
    );
    assert.ok(finding, 'the machine has the connection-refused finding');
    return finding;
  }

  test('the finding reads its title, with its cause and fix as rows under it', async () => {
    const node = await findingNode();
    const item = api.machinesTree.getTreeItem(node);
    assert.equal(labelOf(item), 'connection refused');
    assert.equal(item.description, undefined, 'the code is not repeated after the title');
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
    const details = (await api.machinesTree.getChildren(node)).map((n) => labelOf(api.machinesTree.getTreeItem(n)));
    assert.match(
      details[0] ?? '',
      /^Nothing accepts SSH connections at \S+ port \d+ \(Nix prints "ssh: connect to host … Connection refused"\)\.$/,
    );
    assert.ok(
      details.some((d) => /^Start sshd on the builder, or fix the port: `Port` in a `Host /.test(d)),
      details.join('\n'),
    );
  });

  test('clicking it shows the whole text, with Reveal in File (screenshot)', async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    const item = api.machinesTree.getTreeItem(await findingNode());
    assert.equal(item.command?.command, 'nixBuilders.showFinding');
    // Not awaited: the command waits for the user's choice.
    void vscode.commands.executeCommand(item.command.command, ...(item.command.arguments ?? []));
    await screenshotShowing(
      'finding-details',
      (shot) => {
        assertShowsText(shot, 'notificationCenter', [
          /nix-closed-port: connection refused\. Nothing accepts SSH connections at/,
          /Reveal in File/,
        ]);
      },
      10_000,
      async () => {
        await vscode.commands.executeCommand('notifications.showList');
      },
    );
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  test('the Problems panel lists it on its machines line (screenshot)', async () => {
    const location = closed.location;
    assert.ok(location, 'the lab builder is written in lab.machines');
    const file = vscode.Uri.file(location.file);
    const diagnostic = await waitFor('the health diagnostic on its line', () =>
      vscode.languages.getDiagnostics(file).find((d) => d.code === 'connection-refused'),
    );
    assert.equal(diagnostic.range.start.line, location.line);
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.match(
      diagnostic.message,
      /^The last check of ssh:\/\/\S+ \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\) found it unusable: connection refused\. Nothing accepts SSH/,
    );
    // The healthy builder's line has none: only failed checks are problems.
    const healthy = (await api.machinesTree.machines()).find((m) => m.uri === lab!.healthy);
    assert.ok(healthy?.location);
    assert.ok(
      !vscode.languages
        .getDiagnostics(file)
        .some((d) => d.range.start.line === healthy.location!.line && d.message.startsWith('The last check')),
    );
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    await screenshotShowing('problems-unusable-builder', (shot) => {
      assertShowsRows(shot, 'panel', [
        /^lab\.machines\b/,
        /The last check of ssh:\/\/\S+ .*found it unusable: connection refused\./,
      ]);
    });
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  test('the result is kept for the next window, and shown there with its age', async () => {
    const now = api.machinesTree.healthOf(closed.id);
    // What the next window restores, read from this window's real workspace storage.
    const saved = await waitFor('the saved result', () => api.lastResults?.restore().get(closed.id));
    assert.equal(saved.status, 'down');
    assert.equal(saved.at, now?.at);
    assert.ok(saved.findings.some((f) => f.code === 'connection-refused'));
    // As the next window's view draws it: the cause, then how old it is.
    const item = machineItem(closed, saved, `checked ${age(saved.at, saved.at + 5 * 60_000)}`);
    assert.equal(item.description, 'x86_64-linux · 1 job · speed 1 · connection refused · checked 5 min ago');
  });

  test("a builder's row has its Check and Build buttons in a trusted workspace (screenshot)", async () => {
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
    const node = await api.machinesTree.machineNode(closed.id);
    assert.ok(node);
    await screenshotShowing(
      'trusted-row-buttons',
      (shot) => {
        assertRowActions(
          shot,
          'sidebar',
          'nix-closed-port',
          ['Check Builder', 'Build Current File Here', 'Reveal in File'],
          [],
        );
      },
      10_000,
      async () => {
        await api.machinesView.reveal(node, { select: true, focus: true, expand: true });
      },
    );
  });
});
