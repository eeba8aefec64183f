// "Show Log" after a check and a failed build: the Nix Builders output channel holds what a user
// troubleshoots with (each probe's stages, the ssh and Nix commands run with their exit status,
// the build's phases and why it failed), and no secret: the lab's passphrase key is checked with
// its passphrase typed into the prompt, then the whole log folder is searched for the passphrase
// and for the key's private text.
import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { NixBuildersApi } from '../../../client/src/extension';
import type { BuildOutcome } from '../../../server/src/protocol';
import {
  assertShowsText,
  canScreenshot,
  extensionId,
  screenshotShowing,
  waitFor,
  workspaceFile,
  jsonFromEnv,
} from './helpers';

const lab = jsonFromEnv<Record<string, string>>('NIX_BUILDERS_LAB');
const passphraseLab = jsonFromEnv<{
  machinesLine: string;
  uri: string;
  keyFile: string;
  passphrase: string;
}>('NIX_BUILDERS_LAB_PASSPHRASE');

/** Every file under a folder. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** code-server keeps the logs in the user-data folder, where its session socket is too. */
function logsFolder(): string {
  const socket = process.env.CODE_SERVER_SESSION_SOCKET;
  assert.ok(socket, 'code-server says where its user data is');
  return join(dirname(socket), 'logs');
}

/** The channel's file: <logs>/<session>/exthost<N>/<extension id>/<channel name>.log, the newest. */
function channelFile(): string | undefined {
  const logs = logsFolder();
  if (!existsSync(logs)) return undefined;
  const files = filesUnder(logs).filter((file) => file.includes(`/${extensionId}/`) && file.endsWith('.log'));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** Has the launcher type the text into the open prompt; the text goes through a file, never a log. */
async function typeIntoPrompt(text: string): Promise<void> {
  const file = join(process.env.NIX_BUILDERS_TEST_RESULTS!, `typed-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, text, { mode: 0o600 });
  console.log(`[type-into-input] ${file}`);
  await waitFor('the launcher to type into the prompt', () => existsSync(`${file}.done`), 40_000);
  const problem = readFileSync(`${file}.done`, 'utf8');
  rmSync(`${file}.done`, { force: true });
  assert.equal(problem, '', problem);
}

suite('The log (Show Log)', function () {
  const machinesFile = () => workspaceFile('passphrase.machines').fsPath;
  const trace = () => vscode.workspace.getConfiguration('nixBuilders');

  suiteSetup(function () {
    if (!lab || !passphraseLab || !canScreenshot()) this.skip(); // the prompt is typed into by the launcher's browser
  });
  suiteTeardown(async () => {
    rmSync(machinesFile(), { force: true });
    rmSync(workspaceFile('log-fails.nix').fsPath, { force: true });
    await trace().update('trace.server', undefined, vscode.ConfigurationTarget.Global);
  });

  test('after a check with a passphrase and a failed build it holds the stages, commands, exit codes and phases, and no secret', async function () {
    this.timeout(150_000);
    const api = await vscode.extensions.getExtension<NixBuildersApi>(extensionId)!.activate();
    // Every message between VS Code and the server goes into the channel too, at Trace, the
    // level a user picks on the channel (Set Log Level…): none may carry the secret.
    await trace().update('trace.server', 'verbose', vscode.ConfigurationTarget.Global);
    const levelSet = vscode.commands.executeCommand('workbench.action.setLogLevel');
    await typeIntoPrompt('Nix Remote Builders');
    await typeIntoPrompt('Trace');
    await levelSet;
    writeFileSync(machinesFile(), `${passphraseLab!.machinesLine}\n`);
    const find = (uri: string) =>
      waitFor(`${uri} in the view`, async () => {
        api.machinesTree.refresh();
        return (await api.machinesTree.machines()).find((m) => m.uri === uri);
      });
    const withPassphrase = await find(passphraseLab!.uri);
    const closed = await find(lab!.closedPort!);

    // The check asks for the passphrase: the user types it.
    const checked = vscode.commands.executeCommand('nixBuilders.ping', withPassphrase.id);
    await typeIntoPrompt(passphraseLab!.passphrase);
    await checked;
    const health = await waitFor(
      'the passphrase builder checked',
      () => {
        const h = api.machinesTree.healthOf(withPassphrase.id);
        return h && h.status !== 'probing' ? h : undefined;
      },
      60_000,
    );
    assert.notEqual(health.status, 'down', JSON.stringify(health.findings));

    // A build that fails: a derivation no store has, on the builder whose port is closed.
    const file = workspaceFile('log-fails.nix');
    writeFileSync(
      file.fsPath,
      `derivation { name = "nixrb-log-${randomBytes(6).toString('hex')}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }\n`,
    );
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', {
      uri: file,
      on: closed.id,
    });
    assert.equal(outcome?.ok, false, 'the build on a closed port fails');

    const logFile = await waitFor(
      'the log channel file with the failed build',
      () => {
        const found = channelFile();
        if (found === undefined) throw new Error(`no channel file under ${logsFolder()}`);
        const content = readFileSync(found, 'utf8');
        if (!/Build failed/.test(content)) throw new Error(`${found} ends:\n${content.slice(-3000)}`);
        return found;
      },
      30_000,
    );
    const text = readFileSync(logFile, 'utf8');
    const uri = passphraseLab!.uri.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    for (const expected of [
      new RegExp(`Checking ${uri}`),
      new RegExp(`asking for the passphrase of ${passphraseLab!.keyFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
      new RegExp(`${uri}: stage resolve passed`),
      new RegExp(`${uri}: stage auth passed`),
      /local: ssh -G .* → exit 0/,
      new RegExp(`ssh \\S+@${new URL(passphraseLab!.uri).hostname}: nix-store --version → exit 0`),
      /local: nix-instantiate .*log-fails\.nix.* → exit 0/,
      /Build \/nix\/store\/\S+\.drv on ssh:\/\//,
      /build: \w/,
      /Build failed \(\S+\): /,
      // At Trace: the stderr of commands that succeeded (Debug) and the messages with the server.
      /\[debug\] /,
      /\[trace\] .*nixBuilders\/askPassphrase/,
    ]) {
      assert.match(text, expected, `${logFile} holds ${expected}; it holds:\n${text.slice(-4000)}`);
    }

    // No secret anywhere in the logs: not the passphrase, not a line of the key's private text.
    const keyLines = readFileSync(passphraseLab!.keyFile, 'utf8')
      .split('\n')
      .filter((line) => line.length >= 16 && !line.startsWith('-----'));
    assert.ok(keyLines.length > 0, 'the key has private text to look for');
    for (const log of filesUnder(logsFolder())) {
      const content = readFileSync(log, 'utf8');
      assert.ok(!content.includes(passphraseLab!.passphrase), `${log} holds the passphrase`);
      for (const line of keyLines) assert.ok(!content.includes(line), `${log} holds the private key's text`);
    }

    // Kept beside the screenshots for a person to read (it holds no secret: just proven).
    copyFileSync(logFile, join(process.env.NIX_BUILDERS_TEST_RESULTS!, 'log-after-failed-build.log'));

    // What the user sees: Show Log opens the channel with the build's failure in it. With the
    // messages no longer traced, the same failing build once more puts its lines at the end of
    // the channel, where the Output view shows them (the trace of every message came after them).
    await trace().update('trace.server', undefined, vscode.ConfigurationTarget.Global);
    const again = await vscode.commands.executeCommand<BuildOutcome>('nixBuilders.buildOnRemote', {
      uri: file,
      on: closed.id,
    });
    assert.equal(again?.ok, false, 'the build on a closed port fails again');
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('nixBuilders.showLog');
    await vscode.commands.executeCommand('workbench.action.toggleMaximizedPanel');
    try {
      await screenshotShowing(
        'log-after-failed-build',
        (shot) => assertShowsText(shot, 'panel', [/Nix Remote Builders/, /\[warning\] Build failed \(connection\)/]),
        20_000,
      );
    } finally {
      await vscode.commands.executeCommand('workbench.action.toggleMaximizedPanel');
      await vscode.commands.executeCommand('workbench.action.closePanel');
    }
  });
});
