// "Pin the host key" over a real LSP connection, against a real SSH server (ssh2's server, on
// loopback, with a key made by ssh-keygen): the code action runs the server command, the server
// fetches the key (key exchange only: the SSH server sees no authentication attempt), asks the
// user with the fingerprint as `ssh-keygen -lf` prints it, and on "Pin" writes column 8.
// In an untrusted workspace nothing connects. A key on record (column 8, known_hosts) is never
// replaced: no pin action, and the command refuses a key that contradicts it, whoever asks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server } from 'ssh2';
import type { CodeAction, Command } from 'vscode-languageserver-protocol';
import { applyWorkspaceEdit } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

let dir: string;
let server: Server;
let port: number;
let hostKeyLine: string;
let keygenPrints: string;
let sshConfig: string;
/** Another valid ed25519 key: what a line or known_hosts says when the builder's key changed. */
let otherKeyLine: string;
let otherFingerprint: string;
let changedKnownHosts: string;
let connections = 0;
const authAttempts: string[] = [];
let count = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-pin-'));
  const keyFile = join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'root@pinme', '-f', keyFile]);
  hostKeyLine = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  keygenPrints = execFileSync('ssh-keygen', ['-lf', `${keyFile}.pub`], { encoding: 'utf8' }).trim();
  server = new Server({ hostKeys: [readFileSync(keyFile)] }, (client) => {
    connections++;
    client.on('authentication', (context) => {
      authAttempts.push(`${context.method} ${context.username}`);
      context.reject();
    });
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const otherFile = join(dir, 'other_host_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'root@before', '-f', otherFile]);
  otherKeyLine = readFileSync(`${otherFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  otherFingerprint = execFileSync('ssh-keygen', ['-lf', `${otherFile}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  changedKnownHosts = join(dir, 'known_hosts_changed');
  writeFileSync(changedKnownHosts, `# the key from before\n[127.0.0.1]:${port} ${otherKeyLine}\n`);
  const knownKnownHosts = join(dir, 'known_hosts_known');
  writeFileSync(knownKnownHosts, `known-alias ${hostKeyLine}\n`);
  const none = '  UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile /dev/null\n';
  sshConfig = join(dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    `Host pinme\n  HostName 127.0.0.1\n  Port ${port}\n${none}` +
      `Host changed\n  HostName 127.0.0.1\n  Port ${port}\n  UserKnownHostsFile ${changedKnownHosts}\n  GlobalKnownHostsFile /dev/null\n` +
      `Host known\n  HostName 127.0.0.1\n  Port ${port}\n  HostKeyAlias known-alias\n  UserKnownHostsFile ${knownKnownHosts}\n  GlobalKnownHostsFile /dev/null\n` +
      `Host closed\n  HostName 127.0.0.1\n  Port 1\n${none}`,
  );
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function started(trusted: boolean | undefined): Promise<LspClient> {
  const client = await LspClient.start(trusted === undefined ? {} : { initializationOptions: { trusted } });
  client.settings = { nixVersion: '2.8', sshConfigFile: sshConfig };
  return client;
}

/** Opens `text` and returns the pin action for its first line. */
async function pinAction(client: LspClient, text: string): Promise<{ uri: string; action: CodeAction }> {
  const uri = await client.open(join(dir, `p${count++}.machines`), 'nix-machines', text);
  const diagnostics = await client.diagnostics(uri);
  const actions = await client.codeActions(
    uri,
    { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    diagnostics,
  );
  const action = actions.find((a) => a.title.startsWith('Pin the host key'));
  assert.ok(action, `no pin action among ${JSON.stringify(actions.map((a) => a.title))}`);
  return { uri, action };
}

const lineZero = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** The command a pin action carries, for the first machine of `uri`: what any LSP client can send. */
const pinCommand = (uri: string, storeUri: string): Command => ({
  title: 'Pin host key',
  command: 'nixBuilders.pinHostKey',
  arguments: [{ uri, offset: 0, storeUri }],
});

describe('pin the host key', () => {
  test('fetches the key without logging in, shows its fingerprint, and on "Pin" writes column 8 (filling columns 2–7)', async () => {
    const client = await started(true);
    try {
      const text = 'ssh://nix@pinme x86_64-linux\n';
      const { uri, action } = await pinAction(client, text);
      assert.equal(action.kind, 'refactor.rewrite');
      assert.equal(action.disabled, undefined);
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const before = { connections, auth: authAttempts.length };
      const outcome = (await client.executeCommand(action.command as Command)) as {
        pinned: boolean;
        fingerprint: string;
      };
      assert.equal(outcome.pinned, true, JSON.stringify(outcome) + JSON.stringify(client.messages));
      assert.equal(connections, before.connections + 1);
      assert.equal(authAttempts.length, before.auth, `the key fetch tried to log in: ${authAttempts.join(', ')}`);
      // The prompt shows the key as ssh-keygen -lf prints it on the builder.
      const prompt = client.messageRequests.at(-1)!;
      const [bits, fingerprint] = keygenPrints.split(' ');
      assert.ok(prompt.message.includes(`ssh-ed25519 ${fingerprint} (${bits} bits)`), prompt.message);
      assert.match(prompt.message, /ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub/);
      assert.deepEqual(
        prompt.actions?.map((a) => a.title),
        ['Pin', 'Cancel'],
      );
      assert.equal(outcome.fingerprint, keygenPrints.split(' ')[1]);
      const edit = client.appliedEdits.at(-1)!.edit;
      const after = applyWorkspaceEdit(edit, { [uri]: text })[uri]!;
      const column8 = Buffer.from(hostKeyLine).toString('base64');
      assert.equal(after, `ssh://nix@pinme x86_64-linux - - - - - ${column8}\n`);
      // The pinned line is clean.
      const version = await client.change(uri, after);
      assert.deepEqual(await client.diagnostics(uri, (p) => p.version === version), []);
    } finally {
      await client.stop();
    }
  });

  test("a raw column 8 is a key: the wrap fix, no pin action; the command asked anyway replaces it in place when it is the builder's key", async () => {
    const client = await started(true);
    try {
      const raw = hostKeyLine.split(' ')[1]!;
      const text = `ssh://pinme x86_64-linux - 4 1 kvm - ${raw} # pinned by hand\n`;
      const uri = await client.open(join(dir, `p${count++}.machines`), 'nix-machines', text);
      const diagnostics = await client.diagnostics(uri);
      assert.deepEqual(
        diagnostics.map((d) => d.code),
        ['host-key-raw'],
      );
      const titles = (await client.codeActions(uri, lineZero, diagnostics)).map((a) => a.title);
      assert.deepEqual(titles, ['Wrap the key as base64 of its key line (what ssh needs)']);
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const outcome = (await client.executeCommand(pinCommand(uri, 'ssh://pinme'))) as { pinned: boolean };
      assert.equal(outcome.pinned, true, JSON.stringify(client.messages));
      const after = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!;
      assert.equal(
        after,
        `ssh://pinme x86_64-linux - 4 1 kvm - ${Buffer.from(hostKeyLine).toString('base64')} # pinned by hand\n`,
      );
    } finally {
      await client.stop();
    }
  });

  test('column 8 holds another valid key: no pin action, even with a host-key-unknown diagnostic sent along; the command refuses and asks nothing', async () => {
    const client = await started(true);
    try {
      for (const column8 of [Buffer.from(otherKeyLine).toString('base64'), otherKeyLine.split(' ')[1]!]) {
        const uri = await client.open(
          join(dir, `p${count++}.machines`),
          'nix-machines',
          `ssh://pinme x86_64-linux - - - - - ${column8}\n`,
        );
        const diagnostics = await client.diagnostics(uri);
        const forged = {
          range: lineZero,
          message: 'host key unknown',
          source: 'nix-builders',
          code: 'host-key-unknown',
        };
        const actions = await client.codeActions(uri, lineZero, [...diagnostics, forged]);
        assert.ok(
          !actions.some((a) => a.title.startsWith('Pin the host key')),
          JSON.stringify(actions.map((a) => a.title)),
        );
        client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
        const outcome = (await client.executeCommand(pinCommand(uri, 'ssh://pinme'))) as {
          pinned: boolean;
          reason: string;
        };
        assert.equal(outcome.pinned, false);
        assert.match(outcome.reason, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
        assert.ok(outcome.reason.includes(`expects ${otherFingerprint}`), outcome.reason);
        assert.match(outcome.reason, /ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub/);
      }
      assert.equal(client.messageRequests.length, 0, 'asked the user to trust a changed key');
      assert.equal(client.appliedEdits.length, 0);
    } finally {
      await client.stop();
    }
  });

  test('known_hosts holds another key for the host: no pin action; the command refuses with the exact ssh-keygen -R to run after checking', async () => {
    const client = await started(true);
    try {
      const uri = await client.open(join(dir, `p${count++}.machines`), 'nix-machines', 'ssh://changed x86_64-linux\n');
      const diagnostics = await client.diagnostics(uri);
      const actions = await client.codeActions(uri, lineZero, diagnostics);
      assert.ok(
        !actions.some((a) => a.title.startsWith('Pin the host key')),
        JSON.stringify(actions.map((a) => a.title)),
      );
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const outcome = (await client.executeCommand(pinCommand(uri, 'ssh://changed'))) as {
        pinned: boolean;
        reason: string;
      };
      assert.equal(outcome.pinned, false);
      assert.match(outcome.reason, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.ok(outcome.reason.includes(`${changedKnownHosts} line 2 expects ${otherFingerprint}`), outcome.reason);
      assert.ok(
        outcome.reason.includes(`\`ssh-keygen -R '[127.0.0.1]:${port}' -f ${changedKnownHosts}\``),
        outcome.reason,
      );
      assert.equal(client.messageRequests.length, 0, 'asked the user to trust a changed key');
      assert.equal(client.appliedEdits.length, 0);
    } finally {
      await client.stop();
    }
  });

  test('known_hosts already has the key: no pin action (nothing is unknown); the command asked anyway pins it and says it matches', async () => {
    const client = await started(true);
    try {
      const uri = await client.open(join(dir, `p${count++}.machines`), 'nix-machines', 'ssh://known x86_64-linux\n');
      const actions = await client.codeActions(uri, lineZero, await client.diagnostics(uri));
      assert.ok(
        !actions.some((a) => a.title.startsWith('Pin the host key')),
        JSON.stringify(actions.map((a) => a.title)),
      );
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const outcome = (await client.executeCommand(pinCommand(uri, 'ssh://known'))) as { pinned: boolean };
      assert.equal(outcome.pinned, true, JSON.stringify(client.messages));
      assert.match(client.messageRequests.at(-1)!.message, /It matches .*known_hosts_known line 1/);
    } finally {
      await client.stop();
    }
  });

  test('in a nix.conf builders line, column 8 goes into that entry, before the next `;`', async () => {
    const client = await started(true);
    try {
      const text = 'max-jobs = 0\nbuilders =  ssh://pinme   x86_64-linux ; ssh://other\n';
      const uri = await client.open(join(mkdtempSync(join(dir, 'conf-')), 'nix.conf'), 'nix-conf', text);
      const diagnostics = await client.diagnostics(uri);
      const actions = await client.codeActions(
        uri,
        { start: { line: 1, character: 14 }, end: { line: 1, character: 14 } },
        diagnostics,
      );
      const action = actions.find((a) => a.title === 'Pin the host key of ssh://pinme (fetch it over SSH)');
      assert.ok(action, JSON.stringify(actions.map((a) => a.title)));
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      await client.executeCommand(action.command as Command);
      const after = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!;
      assert.equal(
        after,
        `max-jobs = 0\nbuilders =  ssh://pinme   x86_64-linux - - - - - ${Buffer.from(hostKeyLine).toString('base64')} ; ssh://other\n`,
      );
    } finally {
      await client.stop();
    }
  });

  test('"Cancel" writes nothing', async () => {
    const client = await started(true);
    try {
      const { action } = await pinAction(client, 'ssh://pinme\n');
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Cancel') ?? null;
      const outcome = (await client.executeCommand(action.command as Command)) as { pinned: boolean };
      assert.equal(outcome.pinned, false);
      assert.equal(client.appliedEdits.length, 0);
    } finally {
      await client.stop();
    }
  });

  test('a host that refuses the connection: an error message that names it, no edit', async () => {
    const client = await started(true);
    try {
      const { action } = await pinAction(client, 'ssh://closed x86_64-linux\n');
      const outcome = (await client.executeCommand(action.command as Command)) as { pinned: boolean; reason: string };
      assert.equal(outcome.pinned, false);
      assert.match(outcome.reason, /could not get the host key of closed \(127\.0\.0\.1:1\): .*ECONNREFUSED/);
      assert.match(client.messages.at(-1)!.message, /ECONNREFUSED/);
      assert.equal(client.appliedEdits.length, 0);
    } finally {
      await client.stop();
    }
  });

  test('untrusted workspace (no trusted flag): the action is disabled and the command connects nowhere; setTrusted turns it on', async () => {
    const client = await started(undefined);
    try {
      const { action } = await pinAction(client, 'ssh://pinme x86_64-linux\n');
      assert.match(action.disabled?.reason ?? '', /trust the workspace/);
      const before = connections;
      const outcome = (await client.executeCommand(action.command as Command)) as { pinned: boolean; reason: string };
      assert.equal(outcome.pinned, false);
      assert.match(outcome.reason, /not trusted/);
      assert.equal(connections, before, 'an untrusted workspace connected to the host');
      assert.equal(client.messageRequests.length, 0);

      await client.connection.sendNotification('nixBuilders/setTrusted', { trusted: true });
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const again = (await client.executeCommand(action.command as Command)) as { pinned: boolean };
      assert.equal(again.pinned, true);
      assert.equal(connections, before + 1);
    } finally {
      await client.stop();
    }
  });
});
