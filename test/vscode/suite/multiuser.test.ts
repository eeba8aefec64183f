// VS Code as a normal user of a multi-user install (issue 12): runTests.ts runs this file alone,
// with code-server, the extension and its Nix running as nixrb-untrusted or nixrb-trusted inside
// the lab's client nix-daemon namespace (the daemon trusts nixrb-trusted by name; its own builder
// is the lab's healthy one). "This machine" says daemon mode and whether the daemon trusts the
// user, with the fix for the untrusted one; the one-click build of a fresh derivation lands in
// the local store: through the daemon's builders for the untrusted user (dispatch/untrustedBuild.ts),
// through our own offload for the trusted one.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { LocalNode } from '../../../client/src/tree/localMachineItems';
import type { BuildOutcome } from '../../../server/src/protocol';
import {
  assertShowsInk,
  assertShowsRows,
  assertShowsText,
  canScreenshot,
  extensionId,
  screenshotShowing,
  waitFor,
  workspaceFile,
  type Screenshot,
  jsonFromEnv,
} from './helpers';

const user = process.env.NIX_BUILDERS_AS_USER ?? '';
const untrusted = user === 'nixrb-untrusted';
const hostnames = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB_HOSTNAMES') ?? {};
/** How the workspace's lab.machines and the daemon's /etc/nix/machines name the healthy builder. */
const healthyUri = 'ssh://nix-healthy';

async function api(): Promise<NixBuildersApi> {
  return vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
}

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

async function thisMachine(nixBuilders: NixBuildersApi) {
  const top = await waitFor(
    '"This machine" in the view',
    async () => (await nixBuilders.machinesTree.getChildren()).find((node) => node.kind === 'local'),
    30_000,
  );
  const children = (await nixBuilders.machinesTree.getChildren(top)) as LocalNode[];
  return { top, item: nixBuilders.machinesTree.getTreeItem(top), children };
}

/** The one-click build of where.nix (fresh in every run's workspace, so never in the store yet). */
async function build(on: string): Promise<BuildOutcome> {
  const uri = workspaceFile('where.nix');
  await vscode.window.showTextDocument(uri);
  const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', { uri, on });
  assert.ok(outcome, 'the command returns the outcome');
  return outcome;
}

suite(`VS Code as ${user || '(no user)'}, against the lab's root nix-daemon`, function () {
  suiteSetup(function () {
    if (!user) this.skip();
  });

  test('the extension host runs as that user, and its Nix goes through the daemon', () => {
    assert.equal(userInfo().username, user);
    assert.notEqual(process.getuid?.(), 0);
    assert.equal(process.env.NIX_CONF_DIR, undefined, "the user's Nix reads the daemon's /etc/nix");
    // Nix 2.8 says it on stderr.
    const ping = spawnSync('nix', ['--extra-experimental-features', 'nix-command', 'store', 'ping'], {
      encoding: 'utf8',
    });
    assert.equal(ping.status, 0, ping.stderr);
    assert.match(ping.stdout + ping.stderr, /Store URL: daemon/);
  });

  test(`"This machine" says nix-daemon and ${untrusted ? 'not trusted, with the fix' : 'trusted'}`, async () => {
    const nixBuilders = await api();
    const { item, children } = await thisMachine(nixBuilders);
    assert.equal(labelOf(item), 'This machine');
    const rows = children.map((node) => ({ node, item: nixBuilders.machinesTree.getTreeItem(node) }));
    const fact = (label: string) =>
      rows.find((r) => r.node.kind === 'local-fact' && labelOf(r.item) === label)?.item.description;
    assert.match(String(fact('builds')), /^through the nix-daemon \(daemon\), as root$/);
    if (untrusted) {
      assert.match(
        String(item.description),
        /^nixrb-untrusted · nix-daemon · not trusted · Nix 2\.8\.0 · The nix-daemon does not trust nixrb-untrusted$/,
      );
      assert.match(String(fact('trusted user')), /^no · .*trusted-users = root nixrb-trusted/);
      assert.equal(fact("the daemon's builders"), '@/etc/nix/machines');
      const finding = children.find(
        (node): node is Extract<LocalNode, { kind: 'local-finding' }> =>
          node.kind === 'local-finding' && node.finding.code === 'local-untrusted',
      );
      assert.ok(finding, 'the local-untrusted finding is a row of "This machine"');
      assert.match(finding.finding.message, /extra-trusted-users = nixrb-untrusted/);
      assert.deepEqual(finding.finding.action, {
        kind: 'copy-command',
        title: 'Copy the command that makes the nix-daemon trust nixrb-untrusted',
        command:
          "echo 'extra-trusted-users = nixrb-untrusted' | sudo tee -a /etc/nix/nix.conf >/dev/null && sudo systemctl restart nix-daemon",
      });
    } else {
      assert.match(String(item.description), /^nixrb-trusted · nix-daemon · trusted · Nix 2\.8\.0$/);
      assert.match(String(fact('trusted user')), /^yes · .*matches nixrb-trusted/);
      assert.ok(!children.some((node) => node.kind === 'local-finding' && node.finding.code === 'local-untrusted'));
    }
  });

  test('"This machine" on the screen (screenshot)', async function () {
    if (!canScreenshot()) this.skip();
    const nixBuilders = await api();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('nixBuilders.machines.focus');
    await vscode.commands.executeCommand('workbench.actions.treeView.nixBuilders.machines.collapseAll');
    const expected = untrusted
      ? [
          /^This machine nixrb-untrusted · nix-daemon · not trusted · Nix 2\.8\.0 · The nix-daemon does not trust nixrb-untrusted$/,
          /^The nix-daemon does not trust nixrb-untrusted Copy the command that makes the nix-daemon trust nixrb-untrusted$/,
          /^builds through the nix-daemon \(daemon\), as root$/,
          /^trusted user no · /,
        ]
      : [
          /^This machine nixrb-trusted · nix-daemon · trusted · Nix 2\.8\.0$/,
          /^builds through the nix-daemon \(daemon\), as root$/,
          /^trusted user yes · /,
        ];
    let widened = false;
    const check = (shot: Screenshot) => {
      assertShowsRows(shot, 'sidebar', expected);
      // Nothing went wrong on the way (VS Code says a tree's error in a notification).
      assert.doesNotMatch(shot.shows.notifications.text, /error|already registered|not found/i, shot.path);
    };
    await screenshotShowing(`this-machine-${user}`, check, 20_000, async () => {
      // The view renders a moment after the refresh: reveal fails until it has the node.
      await waitFor('"This machine" revealed in the view', async () => {
        const { top } = await thisMachine(nixBuilders);
        await nixBuilders.machinesView.reveal(top, { expand: true });
        return true;
      });
      // Wide enough to read the finding and its fix: a narrower editor ("Decrease Editor Width") leaves the room to the sidebar.
      for (let i = 0; !widened && i < 10; i++)
        await vscode.commands.executeCommand('workbench.action.decreaseViewWidth');
      widened = true;
    });
  });

  test(`the one-click build lands its output in the local store, ${untrusted ? "through the daemon's builders" : 'through our offload'}`, async function () {
    this.timeout(240_000);
    const outcome = await build('best');
    assert.equal(outcome.ok, true, `${outcome.cause}: ${outcome.message}\n${outcome.logTail.join('\n')}`);
    // The untrusted user's: as Nix's own log names the daemon's builder (its /etc/nix/machines line);
    // the trusted user's: the machine our offload picked. Our offload could not have delivered the
    // untrusted user's outputs: the daemon refuses them unsigned (missing-signature).
    assert.equal(outcome.builtOn, healthyUri);
    const out = outcome.outputs.find((o) => o.name === 'out');
    assert.ok(out && out.path.startsWith('/nix/store/'), JSON.stringify(outcome.outputs));
    // Built on the healthy builder, and valid in the store the daemon keeps (not just a file).
    assert.match(readFileSync(out.path, 'utf8'), new RegExp(`^hostname=${hostnames.healthy}$`, 'm'));
    const valid = execFileSync('nix', ['--extra-experimental-features', 'nix-command', 'path-info', out.path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(valid.trim(), out.path);
    // What the user sees: the build's terminal with its log.
    await screenshotShowing(`build-${user}`, (shot) => {
      assertShowsText(shot, 'panel', [/Build where\.nix on /]);
      assertShowsInk(shot, 'terminal', 0.01);
    });
  });

  // The untrusted user's only: the trusted user's pick is the offload the test above ran.
  if (untrusted)
    test('a machine the untrusted user picks: refused before anything runs, naming trust as what it needs', async function () {
      const nixBuilders = await api();
      const healthy = await waitFor('the healthy builder in the view', async () =>
        (await nixBuilders.machinesTree.machines()).find((m) => m.uri === healthyUri),
      );
      const outcome = await build(healthy.id);
      assert.equal(outcome.ok, false);
      assert.equal(outcome.cause, 'untrusted-user');
      assert.match(
        outcome.message ?? '',
        /needs trust: the nix-daemon does not trust nixrb-untrusted .*nothing was started/,
      );
    });
});
