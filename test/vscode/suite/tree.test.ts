// The Remote Builders view as the user sees it: the builders of the nix.conf Nix reads (here the
// test's NIX_CONF_DIR), then the machines files of the workspace, each machine with its line.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { Node } from '../../../client/src/tree/items';
import { assertShowsRows, canScreenshot, extensionId, screenshotShowing, waitFor } from './helpers';

async function api(): Promise<NixBuildersApi> {
  const extension = vscode.extensions.getExtension<NixBuildersApi>(extensionId);
  assert.ok(extension);
  return extension.activate();
}

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

suite('The Remote Builders view', () => {
  test('groups machines by source: nix.conf first, then the workspace machines file', async () => {
    const { machinesTree } = await api();
    machinesTree.refresh();
    const sources = await waitFor('sources in the view', async () => {
      const nodes = (await machinesTree.getChildren()).filter((node) => node.kind === 'source');
      return nodes.length >= 2 ? nodes : undefined;
    });
    const items = sources.map((node) => machinesTree.getTreeItem(node));
    const conf = items[0];
    const workspace = items.find((item) => item.resourceUri?.path.endsWith('/workspace/machines'));
    assert.equal(labelOf(conf!), 'nix.conf');
    assert.match(String(conf!.description), /^2 machines · .*\/test\/fixtures\/etc-nix$/);
    assert.ok(workspace, `the workspace machines file among ${items.map(labelOf).join(', ')}`);
    assert.match(String(workspace!.description), /^3 machines, not used by Nix · \/.*\/workspace$/);

    const machines = (await machinesTree.getChildren(sources[0])).map((node) => machinesTree.getTreeItem(node));
    assert.deepEqual(machines.map(labelOf), ['nix@conf-builder.example.org', 'aarch64-box']);
    assert.equal(machines[0]!.description, 'x86_64-linux · 2 jobs · speed 1');
    assert.match(String(machines[0]!.contextValue), /hasLocation/);
  });

  test('"This machine" comes first: who builds, through what, trusted or not, with the settings real Nix reports', async () => {
    const { machinesTree } = await api();
    const top = await waitFor('"This machine" in the view', async () =>
      (await machinesTree.getChildren()).find((node) => node.kind === 'local'),
    );
    assert.equal((await machinesTree.getChildren())[0]?.kind, 'local');
    const item = machinesTree.getTreeItem(top);
    assert.equal(labelOf(item), 'This machine');
    // The VS Code tier runs as root on the machine's Nix without a daemon.
    assert.match(String(item.description), /^root · single-user · Nix \d+\.\d+/);
    const rows = (await machinesTree.getChildren(top)).map((node) => machinesTree.getTreeItem(node));
    const row = (label: string) => rows.find((r) => labelOf(r) === label)?.description;
    assert.match(String(row('builds')), /^here, as root \(local\)$/);
    assert.match(String(row('trusted user')), /^yes · you own the store/);
    assert.match(String(row('system')), /^x86_64-linux|^aarch64-linux/);
    assert.ok(row('max-jobs') !== undefined);
    assert.ok(row('builders') !== undefined, rows.map(labelOf).join(', '));
  });

  test('Reveal in File opens the line the machine is written on', async () => {
    const { machinesTree } = await api();
    const sources = await machinesTree.getChildren();
    const workspace = sources.find(
      (node) => node.kind === 'source' && node.source.file?.endsWith('/workspace/machines'),
    );
    const [, second] = await machinesTree.getChildren(workspace);
    await vscode.commands.executeCommand('nixBuilders.revealMachine', second as Node);
    const editor = await waitFor('the machines file in an editor', () =>
      vscode.window.activeTextEditor?.document.uri.path.endsWith('/machines')
        ? vscode.window.activeTextEditor
        : undefined,
    );
    assert.equal(editor.selection.active.line, 3);
    assert.match(editor.document.lineAt(3).text, /^ssh-ng:\/\/mac-mini\.local/);
  });

  test('the view with its builders (screenshot)', async function () {
    if (!canScreenshot()) this.skip(); // desktop VS Code: no picture to look at
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    // Every source on one screen, whatever earlier tests expanded, with "This machine" open above them.
    await vscode.commands.executeCommand('workbench.actions.treeView.nixBuilders.machines.collapseAll');
    const { machinesTree, machinesView } = await api();
    const top = (await machinesTree.getChildren()).find((node) => node.kind === 'local');
    assert.ok(top, '"This machine" is in the view');
    await machinesView.reveal(top, { expand: true });
    await screenshotShowing('remote-builders-view', (shot) => {
      assertShowsRows(shot, 'sidebar', [
        /^This machine\b/,
        /^builds\b/,
        /^nix\.conf 2 machines · .*\/test\/fixtures\/etc-nix$/,
        /^machines 3 machines, not used by Nix · \/.*\/workspace\b/,
      ]);
    });
  });
});
