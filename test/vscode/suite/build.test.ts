// "Build on Remote Builder" in VS Code against a real builder: the command evaluates where.nix,
// builds it on the lab's healthy builder, streams the log into a task terminal, and reports the
// output path, whose content says which builder built it.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { BuildOutcome } from '../../../server/src/protocol';
import { assertShowsInk, assertShowsText, extensionId, screenshotShowing, waitFor, workspaceFile } from './helpers';

const lab = process.env.NIX_BUILDERS_LAB ? (JSON.parse(process.env.NIX_BUILDERS_LAB) as Record<string, string>) : undefined;
const hostnames = process.env.NIX_BUILDERS_LAB_HOSTNAMES ? (JSON.parse(process.env.NIX_BUILDERS_LAB_HOSTNAMES) as Record<string, string>) : {};

suite('Build on Remote Builder', function () {
  suiteSetup(function () {
    if (!lab) this.skip();
  });

  test('builds where.nix on the healthy builder and reports its output path', async () => {
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    const healthy = await waitFor('the healthy lab builder', async () => {
      api.machinesTree.refresh();
      return (await api.machinesTree.machines()).find((m) => m.uri === lab!.healthy);
    });
    const uri = workspaceFile('where.nix');
    await vscode.window.showTextDocument(uri);
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', { uri, on: healthy.id });
    assert.ok(outcome, 'the command returns the outcome');
    assert.equal(outcome.ok, true, `${outcome.cause}: ${outcome.message}\n${outcome.logTail.join('\n')}`);
    assert.equal(outcome.builtOn, lab!.healthy);
    const out = outcome.outputs.find((o) => o.name === 'out');
    assert.ok(out && out.path.startsWith('/nix/store/'));
    assert.match(readFileSync(out.path, 'utf8'), new RegExp(`^hostname=${hostnames.healthy}$`, 'm'));
    // What the user sees: the build's terminal, named for the file and the builder, with its log.
    await screenshotShowing('build', (shot) => {
      assertShowsText(shot, 'panel', [/Build where\.nix on nix-healthy/]);
      assertShowsInk(shot, 'terminal', 0.01);
      assertShowsText(shot, 'editor', [/nixrb-where-/]);
    });
  });

  test('a second build on the same builder reuses its terminal instead of adding one', async () => {
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    const healthy = (await api.machinesTree.machines()).find((m) => m.uri === lab!.healthy);
    assert.ok(healthy);
    const uri = workspaceFile('where.nix');
    const build = async () => {
      await vscode.window.showTextDocument(uri);
      const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', { uri, on: healthy.id });
      assert.equal(outcome.ok, true, `${outcome.cause}: ${outcome.message}`);
    };
    await build(); // the builder's terminal exists, whatever ran before
    const before = vscode.window.terminals.map((t) => t.name);
    await build();
    // The build's task terminal is named for the build; the same builder's is reused.
    assert.deepEqual(vscode.window.terminals.map((t) => t.name), before);
  });
});
