// "Build on Remote Builder" in VS Code against a real builder: the command evaluates where.nix,
// builds it on the lab's healthy builder, streams the log into a task terminal, and reports the
// output path, whose content says which builder built it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { BuildOutcome } from '../../../server/src/protocol';
import {
  assertShowsInk,
  assertShowsRows,
  assertShowsText,
  extensionId,
  screenshotShowing,
  waitFor,
  workspaceFile,
  jsonFromEnv,
} from './helpers';

const lab = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB');
const hostnames = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB_HOSTNAMES') ?? {};

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
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', {
      uri,
      on: healthy.id,
    });
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

  test("the picker: its first row, marked as Nix's choice, is `nix-builders select`'s, and no row claims a check that never ran", async function () {
    this.timeout(90_000);
    const extension = vscode.extensions.getExtension<NixBuildersApi>(extensionId)!;
    await extension.activate();
    // The same Nix configuration the extension reads (the suite's NIX_CONF_DIR): Nix's own choice.
    const system = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux`;
    const select = spawnSync(
      process.execPath,
      [join(extension.extensionPath, 'dist/cli.js'), 'select', '--system', system, '--format', 'json'],
      { encoding: 'utf8' },
    );
    assert.equal(select.status, 0, select.stderr);
    const chosen = (JSON.parse(select.stdout) as { chosen: string }).chosen;
    const picking = vscode.commands.executeCommand<BuildOutcome | undefined>('nixBuilders.buildOnRemote', {
      uri: workspaceFile('where.nix'),
    });
    try {
      const shot = await screenshotShowing(
        'build-picker',
        (shot) => {
          // The first row is the choice; the lab's lines say the file Nix does not read them from.
          assert.match(
            shot.shows.quickInput.rows[0] ?? '',
            new RegExp(`^Nix's choice · ${chosen.replace(/[/.]/g, '\\$&')} `),
            `${shot.path}: rows\n${shot.shows.quickInput.rows.join('\n')}`,
          );
          assertShowsRows(shot, 'quickInput', [/not checked yet/, /lab\.machines, which Nix does not read/]);
        },
        60_000,
      );
      if (!shot) this.skip(); // nothing takes screenshots here: the lsp tier holds the same rows (build-picker.test.ts)
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      assert.equal(await picking, undefined, 'closing the picker builds nothing');
    }
  });

  test('built again on a builder that is down: the outcome and the notification say "Already built: nothing to do"', async () => {
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    const dead = await waitFor('the closed-port lab builder', async () =>
      (await api.machinesTree.machines()).find((m) => m.uri === lab!.closedPort),
    );
    // where.nix was built by the first test: its output is in the local store.
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', {
      uri: workspaceFile('where.nix'),
      on: dead.id,
    });
    assert.equal(outcome.ok, true, `${outcome.cause}: ${outcome.message}`);
    assert.equal(outcome.builtOn, undefined, 'no builder built it, least of all the dead one');
    assert.equal(outcome.summary, 'Already built: nothing to do (the outputs were in the local store).');
    await screenshotShowing(
      'build-already-built',
      (shot) => {
        // The newest notification (the list holds the first test's "Built on ssh://nix-healthy" too).
        const rows = [...shot.shows.notifications.rows, ...shot.shows.notificationCenter.rows];
        assert.ok(
          rows.some((row) =>
            /where\.nix: Already built: nothing to do \(the outputs were in the local store\)\. \/nix\/store\//.test(
              row,
            ),
          ),
          `${shot.path}: ${rows.join('\n')}`,
        );
        assert.ok(
          !rows.some((row) => row.includes('nix-closed-port')),
          `${shot.path}: the dead builder is named: ${rows.join('\n')}`,
        );
      },
      20_000,
      async () => {
        await vscode.commands.executeCommand('notifications.showList');
      },
    );
  });

  test('a second build on the same builder reuses its terminal instead of adding one', async () => {
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    const healthy = (await api.machinesTree.machines()).find((m) => m.uri === lab!.healthy);
    assert.ok(healthy);
    const uri = workspaceFile('where.nix');
    const build = async () => {
      await vscode.window.showTextDocument(uri);
      const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', {
        uri,
        on: healthy.id,
      });
      assert.equal(outcome.ok, true, `${outcome.cause}: ${outcome.message}`);
    };
    await build(); // the builder's terminal exists, whatever ran before
    const before = vscode.window.terminals.map((t) => t.name);
    await build();
    // The build's task terminal is named for the build; the same builder's is reused.
    assert.deepEqual(
      vscode.window.terminals.map((t) => t.name),
      before,
    );
  });
});
