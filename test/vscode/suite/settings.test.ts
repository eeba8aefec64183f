// Where a user looks for the settings: the Settings editor's User tab, searched for
// `nixBuilders`, lists all eight. A `machine` or `machine-overridable` setting shows only under
// the Remote tab in a remote window (code-server is one), which hid four of them.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { assertShowsText, canScreenshot, extensionId, screenshotShowing } from './helpers';

suite('The settings in the Settings editor', () => {
  suiteSetup(async () => {
    await vscode.extensions.getExtension(extensionId)?.activate();
  });

  test('every setting is one a user can set in User settings (none is machine-scoped)', () => {
    const manifest = vscode.extensions.getExtension(extensionId)?.packageJSON as {
      contributes: { configuration: { properties: Record<string, { scope?: string }> } };
    };
    const properties = Object.entries(manifest.contributes.configuration.properties);
    assert.equal(properties.length, 8);
    for (const [name, { scope }] of properties) {
      assert.ok(
        scope !== 'machine' && scope !== 'machine-overridable' && scope !== 'application',
        `${name} has scope ${scope}`,
      );
    }
  });

  test('the User tab, searched for nixBuilders, shows all 8 settings (screenshot)', async function () {
    if (!canScreenshot()) this.skip(); // desktop VS Code: no picture to look at
    await vscode.commands.executeCommand('notifications.clearAll');
    // The whole editor height for the list: another test may have left the panel open.
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('workbench.action.openGlobalSettings', { query: 'nixBuilders' });
    try {
      await screenshotShowing(
        'settings-user-tab',
        (shot) => {
          assertShowsText(shot, 'editor', [
            /\bUser\b/,
            /\b8 Settings Found\b/,
            /Machines File/,
            /Nix Version/,
            /Probe Timeout/,
          ]);
        },
        20_000,
      );
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    }
  });
});
