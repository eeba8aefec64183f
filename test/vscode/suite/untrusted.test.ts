// The example workspace opened untrusted, with workspace trust on as VS Code ships it (runTests.ts
// runs this file alone, in its own VS Code session, with the lab's real builders in lab.machines):
// the user still gets the view and Nix's diagnostics, Build and Ping refuse with a message that
// says why, and the builders' sshd sees no connection at all.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { BuildOutcome } from '../../../server/src/protocol';
import {
  assertRowActions,
  assertShowsRows,
  assertShowsText,
  extensionId,
  screenshotShowing,
  showTheViewAlone,
  waitFor,
  workspaceFile,
  jsonFromEnv,
} from './helpers';
import { connectionsIn } from './sshdLog';

const lab = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB');
const sshdLogs = jsonFromEnv<string[]>('NIX_BUILDERS_LAB_SSHD_LOGS') ?? [];

async function api(): Promise<NixBuildersApi> {
  return vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
}

async function labMachines(nixBuilders: NixBuildersApi) {
  return waitFor('the lab machines in the view', async () => {
    nixBuilders.machinesTree.refresh();
    const all = await nixBuilders.machinesTree.machines();
    const found = Object.entries(lab!).map(([name, uri]) => [name, all.find((m) => m.uri === uri)] as const);
    return found.every(([, m]) => m)
      ? (Object.fromEntries(found) as Record<string, NonNullable<(typeof found)[number][1]>>)
      : undefined;
  });
}

/** Removes the notifications shown so far: each test's screenshot must show its own message. */
async function clearNotifications(): Promise<void> {
  await vscode.commands.executeCommand('notifications.clearAll');
}

/**
 * Opens the notifications list, where a message is found whether or not VS Code also showed it
 * as a toast (1.139 here does not), for the screenshot that follows.
 */
async function showNotifications(): Promise<void> {
  await vscode.commands.executeCommand('notifications.showList');
}

suite('An untrusted workspace', function () {
  let connectionsAtStart = 0;
  suiteSetup(function () {
    if (!lab) this.skip();
    connectionsAtStart = connectionsIn(sshdLogs);
  });

  test('VS Code opened the folder untrusted, and the extension is active in it', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'runTests.ts turns workspace trust on and never grants it');
    const extension = vscode.extensions.getExtension(extensionId);
    await extension!.activate();
    assert.ok(extension!.isActive);
  });

  test('the Remote Builders view lists the lab builders, unchecked (screenshot)', async () => {
    const nixBuilders = await api();
    const machines = await labMachines(nixBuilders);
    for (const machine of Object.values(machines)) {
      assert.equal(nixBuilders.machinesTree.healthOf(machine.id), undefined, `${machine.uri} was never checked`);
    }
    await showTheViewAlone();
    // Again before each attempt: a refresh of the view (a watched file saved) collapses them.
    const revealLab = async () => {
      for (const machine of Object.values(machines)) {
        const node = await nixBuilders.machinesTree.machineNode(machine.id);
        if (node) await nixBuilders.machinesView.reveal(node, { expand: true });
      }
    };
    await screenshotShowing(
      'untrusted-view',
      (shot) => {
        assertShowsRows(shot, 'sidebar', [
          /^lab\.machines 3 machines, not used by Nix · /,
          /^nix-healthy x86_64-linux · 1 job · speed 1$/,
          /^nix-closed-port x86_64-linux · 1 job · speed 1$/,
          /^nix-untrusted x86_64-linux · 1 job · speed 1$/,
        ]);
        // Why nothing is checked, said in the view itself (its message, above the tree).
        assertShowsText(shot, 'sidebar', [
          /This workspace is not trusted \(Restricted Mode\): builders are listed but not checked or used, and no SSH connection is made\./,
        ]);
      },
      10_000,
      revealLab,
    );
  });

  test("a builder's row has no Check or Build button, only Reveal in File (screenshot)", async () => {
    const nixBuilders = await api();
    const machines = await labMachines(nixBuilders);
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
    // Inline buttons show on the selected row: select the healthy builder and look at its row.
    const node = await nixBuilders.machinesTree.machineNode(machines.healthy!.id);
    assert.ok(node);
    await screenshotShowing(
      'untrusted-row-buttons',
      (shot) => {
        assertRowActions(
          shot,
          'sidebar',
          'nix-healthy',
          ['Reveal in File'],
          ['Check Builder', 'Build Current File Here'],
        );
      },
      10_000,
      async () => {
        await nixBuilders.machinesView.reveal(node, { select: true, focus: true });
      },
    );
  });

  test("a bad machines file gets Nix's diagnostics all the same (screenshot)", async () => {
    const uri = workspaceFile('bad.machines');
    await vscode.workspace.fs.writeFile(uri, Buffer.from('ssh://nix@builder x86_64-linux - four 1\n'));
    const editor = await vscode.window.showTextDocument(uri);
    const error = await waitFor('max-jobs-not-integer on bad.machines', () =>
      vscode.languages.getDiagnostics(uri).find((d) => d.code === 'max-jobs-not-integer'),
    );
    assert.equal(error.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(editor.document.getText(error.range), 'four');
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    await screenshotShowing('untrusted-diagnostics', (shot) => {
      assertShowsRows(shot, 'panel', [
        /^bad\.machines\b/,
        /^Nix rejects this entry: .*max-jobs-not-integer.*\[Ln 1, Col 34\]$/,
      ]);
    });
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  test('Build on Remote Builder refuses, says the untrusted workspace is why, and offers to manage trust (screenshot)', async () => {
    const machines = await labMachines(await api());
    const uri = workspaceFile('where.nix');
    await vscode.window.showTextDocument(uri);
    await clearNotifications();
    const outcome = await vscode.commands.executeCommand<BuildOutcome | undefined>('nixBuilders.buildOnRemote', {
      uri,
      on: machines.healthy!.id,
    });
    assert.equal(outcome, undefined, 'no build ran');
    await showNotifications();
    await screenshotShowing('untrusted-build', (shot) => {
      assertShowsText(shot, 'notificationCenter', [
        /Building on a remote builder connects over SSH, which this untrusted workspace does not allow/,
        /Manage Workspace Trust/,
      ]);
    });
  });

  test('Ping refuses too, and offers to manage workspace trust (screenshot)', async () => {
    const machines = await labMachines(await api());
    await clearNotifications();
    // Not awaited: the command waits for the answer to its message, which nobody gives here.
    void vscode.commands.executeCommand('nixBuilders.ping', machines.healthy!.id);
    await showNotifications();
    await screenshotShowing('untrusted-ping', (shot) => {
      assertShowsText(shot, 'notificationCenter', [
        /Checking builders connects to them over SSH, which this untrusted workspace does not allow/,
        /Manage Workspace Trust/,
      ]);
    });
    await clearNotifications();
  });

  test("the builders' sshd saw no connection during all of it", async () => {
    assert.ok(sshdLogs.length >= 2, `the lab's sshd logs: ${sshdLogs.join(', ')}`);
    assert.equal(
      connectionsIn(sshdLogs) - connectionsAtStart,
      0,
      `new "Connection from" lines in ${sshdLogs.join(', ')}`,
    );
  });
});
