// Quick fixes for how ssh reaches a builder, over a real LSP connection with the server's HOME
// in a fake home (test/lsp/helpers/fakeHome.ts): a missing key offers the private keys that are
// there (never a .pub) and `-`; a port in the URI before Nix 2.31 moves into an ssh config
// `Host` entry (which ssh then reads: checked with `ssh -G`), or points at the nixVersion setting.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { CodeAction, Diagnostic } from 'vscode-languageserver-protocol';
import { applyWorkspaceEdit } from './helpers/edits';
import { makeFakeHome, type FakeHome } from './helpers/fakeHome';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let home: FakeHome;
let dir: string;
let count = 0;

before(async () => {
  home = makeFakeHome();
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-connection-fixes-'));
  client = await LspClient.start({ env: { ...process.env, HOME: home.home } });
  client.settings = { nixVersion: '2.8' };
});
after(async () => {
  await client.stop();
  home.remove();
  rmSync(dir, { recursive: true, force: true });
});

async function actionsFor(
  text: string,
  code: string,
): Promise<{ uri: string; diagnostic: Diagnostic; actions: CodeAction[] }> {
  const uri = await client.open(join(dir, `f${count++}.machines`), 'nix-machines', text);
  const diagnostic = (await client.diagnostics(uri)).find((d) => d.code === code);
  assert.ok(diagnostic, `no ${code}`);
  return { uri, diagnostic, actions: await client.codeActions(uri, diagnostic.range, [diagnostic]) };
}

describe('ssh-key-missing', () => {
  test('offers each private key of ~/.ssh (not the .pub, not other files) and `-`; the chosen one replaces column 3', async () => {
    const text = 'ssh://b x86_64-linux /home/nobody/.ssh/gone 4\n';
    const { uri, actions } = await actionsFor(text, 'ssh-key-missing');
    const titles = actions.map((a) => a.title);
    const ssh = join(home.home, '.ssh');
    assert.ok(titles.includes(`Use the key ${join(ssh, 'deploy_key')}`), JSON.stringify(titles));
    assert.ok(titles.includes(`Use the key ${join(ssh, 'id_builder')}`), JSON.stringify(titles));
    assert.ok(!titles.some((t) => /\.pub$|notes\.txt|known_hosts|config$/.test(t)), JSON.stringify(titles));
    // "Choose a key file…" first: the client's file dialog, opened in ~/.ssh, replaces column 3.
    assert.equal(titles[0], 'Choose a key file…');
    assert.deepEqual(actions[0]!.command, {
      title: 'Choose a key file',
      command: 'nixBuilders.chooseKeyFile',
      arguments: [{ uri, range: { start: { line: 0, character: 21 }, end: { line: 0, character: 43 } }, startIn: ssh }],
    });
    const chosen = actions.find((a) => a.title === `Use the key ${join(ssh, 'id_builder')}`)!;
    assert.equal(
      applyWorkspaceEdit(chosen.edit!, { [uri]: text })[uri],
      `ssh://b x86_64-linux ${join(ssh, 'id_builder')} 4\n`,
    );
    const dash = actions.find((a) => a.title.startsWith("Use '-': ssh picks the key"));
    assert.ok(dash?.edit);
    assert.equal(applyWorkspaceEdit(dash.edit, { [uri]: text })[uri], 'ssh://b x86_64-linux - 4\n');
    // And the fixed line has no missing key any more.
    const version = await client.change(uri, applyWorkspaceEdit(chosen.edit!, { [uri]: text })[uri]!);
    const again = await client.diagnostics(uri, (p) => p.version === version);
    assert.equal(
      again.find((d) => d.code === 'ssh-key-missing'),
      undefined,
    );
  });
});

describe('port-in-uri (Nix 2.8)', () => {
  test('the port moves into a Host entry appended to the ssh config, which ssh then applies to the host', async () => {
    const config = join(dir, 'ssh_config');
    writeFileSync(config, 'Host *\n  ServerAliveInterval 30\n');
    await client.changeSettings({ nixVersion: '2.8', sshConfigFile: config });
    try {
      const text = 'ssh://nix@builder.lab:2222 x86_64-linux\n';
      const { uri, actions } = await actionsFor(text, 'port-in-uri');
      const move = actions.find((a) => a.title === `Move the port into ${config} (Host builder.lab / Port 2222)`);
      assert.ok(move?.edit, JSON.stringify(actions.map((a) => a.title)));
      assert.equal(move.isPreferred, true);
      const texts = applyWorkspaceEdit(move.edit, { [uri]: text });
      assert.equal(texts[uri], 'ssh://nix@builder.lab x86_64-linux\n');
      const newConfig = texts[pathToFileURL(config).toString()]!;
      assert.equal(newConfig, 'Host *\n  ServerAliveInterval 30\n\nHost builder.lab\n  Port 2222\n');
      writeFileSync(config, newConfig);
      // ssh itself reads the entry: the host gets port 2222, other hosts keep 22.
      const port = (host: string) =>
        /^port (\d+)$/m.exec(execFileSync('ssh', ['-G', '-F', config, host], { encoding: 'utf8' }))?.[1];
      assert.deepEqual([port('builder.lab'), port('other.lab')], ['2222', '22']);
      const version = await client.change(uri, texts[uri]!);
      const again = await client.diagnostics(uri, (p) => p.version === version);
      assert.equal(
        again.find((d) => d.code === 'port-in-uri'),
        undefined,
      );
    } finally {
      await client.changeSettings({ nixVersion: '2.8' });
    }
  });

  test('an ssh config that does not exist yet is created with the entry', async () => {
    const config = join(mkdtempSync(join(dir, 'cfg-')), 'config');
    await client.changeSettings({ nixVersion: '2.8', sshConfigFile: config });
    try {
      const text = 'ssh://builder.lab:2200 x86_64-linux\n';
      const { uri, actions } = await actionsFor(text, 'port-in-uri');
      const move = actions.find((a) => a.title.startsWith('Move the port into'));
      assert.ok(move?.edit);
      const texts = applyWorkspaceEdit(move.edit, { [uri]: text });
      assert.equal(texts[pathToFileURL(config).toString()], 'Host builder.lab\n  Port 2200\n');
      assert.equal(readFileSync(config, 'utf8'), '', 'the create happens; the text is the edit');
    } finally {
      await client.changeSettings({ nixVersion: '2.8' });
    }
  });

  test('the other fix opens the nixVersion setting, for a file Nix 2.31+ reads', async () => {
    const { actions } = await actionsFor('ssh://builder.lab:2222 x86_64-linux\n', 'port-in-uri');
    const setting = actions.find((a) => a.title.startsWith('Set nixBuilders.nixVersion'));
    assert.deepEqual(setting?.command, {
      title: 'Open the setting',
      command: 'workbench.action.openSettings',
      arguments: ['nixBuilders.nixVersion'],
    });
  });
});
