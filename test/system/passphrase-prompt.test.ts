// The passphrase prompt on the lab's builder whose (authorised) key has a passphrase: the time
// the user takes to answer is not the builder's (the auth timeout waits), a prompt left
// unanswered ends as "the key needs its passphrase" (not "login refused … add the public key",
// which the key is), and a prompt still open when the probe gives up is told to close.
//   node --import tsx --test test/system/passphrase-prompt.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { runProbe, type ProbeMachine } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import {
  askPassphraseRequest,
  listBuildersRequest,
  probeRequest,
  sealSecret,
  type MachineHealth,
} from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';
import { provisionBuilders, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the passphrase prompt', { skip: !labCanRun() }, () => {
  let lab: BuilderLab<'passphraseKey'>;
  let dir: string;
  let machine: ProbeMachine;

  before(async () => {
    lab = await provisionBuilders({ builders: ['passphraseKey'] });
    dir = mkdtempSync(join(tmpdir(), 'nix-builders-passphrase-prompt-'));
    machine = parseBuilders(lab.machines('passphraseKey'), nix2_8Rules, { localSystem: lab.system }).machines[0]!;
  });
  after(async () => {
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("answered after longer than the probe timeout: the probe logs in; the user's time is not the builder's", async () => {
    writeFileSync(join(dir, 'nix.conf'), `builders = ${lab.machines('passphraseKey')}\n`);
    const env: NodeJS.ProcessEnv = { ...lab.env(), NIX_CONF_DIR: dir, NIX_USER_CONF_FILES: join(dir, 'none') };
    delete env.NIX_CONFIG;
    const client = await LspClient.start({ env, initializationOptions: { trusted: true } });
    let asked = 0;
    client.connection.onRequest(askPassphraseRequest, async (params) => {
      asked++;
      // The user takes longer than the whole probe timeout (3 s) to type it. (Not 1 s: on a busy
      // machine the login itself may take that long, and the test would fail for that.)
      await wait(4500);
      return { sealed: sealSecret(params.sealTo, lab.passphrase) };
    });
    try {
      client.settings = { nixVersion: '2.8', sshConfigFile: lab.sshConfig, probeTimeout: 3 };
      await client.connection.sendRequest(listBuildersRequest);
      const [health] = await client.connection.sendRequest(probeRequest, {});
      assert.ok(health, 'a probe result');
      const summary = `${health.status}: ${health.findings.map((f) => `${f.code}: ${f.message}`).join(' | ')}`;
      assert.equal(asked, 1, summary);
      assert.deepEqual(
        health.findings.map((f) => f.code),
        ['key-passphrase-prompt'],
        summary,
      );
      const auth = health.stages.find((stage) => stage.name === 'auth');
      assert.ok(auth?.ok, summary);
    } finally {
      await client.stop();
    }
  });

  test('the check cancelled while the prompt is open (LSP): the server cancels its question, so the prompt closes', async () => {
    writeFileSync(join(dir, 'nix.conf'), `builders = ${lab.machines('passphraseKey')}\n`);
    const env: NodeJS.ProcessEnv = { ...lab.env(), NIX_CONF_DIR: dir, NIX_USER_CONF_FILES: join(dir, 'none') };
    delete env.NIX_CONFIG;
    const client = await LspClient.start({ env, initializationOptions: { trusted: true } });
    let asking!: () => void;
    const askedNow = new Promise<void>((resolve) => (asking = resolve));
    let closed = false;
    // As the extension's input box: open until answered, or until the request is cancelled.
    client.connection.onRequest(askPassphraseRequest, (_params, token) => {
      asking();
      return new Promise((resolve) =>
        token.onCancellationRequested(() => {
          closed = true;
          resolve(null);
        }),
      );
    });
    try {
      client.settings = { nixVersion: '2.8', sshConfigFile: lab.sshConfig, probeTimeout: 8 };
      await client.connection.sendRequest(listBuildersRequest);
      const check = new CancellationTokenSource();
      const probing: Promise<unknown> = client.connection
        .sendRequest(probeRequest, {}, check.token)
        .catch((error: unknown) => error);
      await askedNow;
      check.cancel();
      const answer = await probing;
      const health = Array.isArray(answer) ? (answer as MachineHealth[])[0] : undefined;
      assert.ok(closed, 'the passphrase prompt stayed open after the check was cancelled');
      // It ended because it was cancelled, not because the prompt's own limit ran out.
      const said = health?.findings.map((f) => `${f.code}: ${f.message}`).join(' | ') ?? '';
      assert.match(said, /cancelled/, said);
      assert.doesNotMatch(said, /got no answer/, said);
    } finally {
      await client.stop();
    }
  });

  test('left unanswered: the finding names the passphrase and its fixes, and the prompt is told to close', async () => {
    let closed = false;
    const result = await runProbe(machine, {
      env: lab.env(),
      timeoutMs: 8000,
      passphraseTimeoutMs: 1000,
      // Never answers: only the signal ends the wait, as a prompt the user leaves open.
      askPassphrase: (_file, signal) =>
        new Promise((resolve) =>
          signal?.addEventListener('abort', () => {
            closed = true;
            resolve(undefined);
          }),
        ),
    });
    const summary = result.findings.map((f) => `${f.code}: ${f.message}`).join(' | ');
    assert.ok(closed, 'the prompt was not told to close');
    assert.deepEqual(
      result.findings.map((f) => f.code),
      ['key-encrypted'],
      summary,
    );
    const message = result.findings[0]!.message;
    assert.match(message, /passphrase prompt got no answer within 1 s/);
    assert.match(message, /`ssh-add '?[^`]*passphrase[^`]*`/);
    assert.doesNotMatch(message, /authorized_keys|refused/);
    assert.equal(result.stages.find((stage) => stage.name === 'auth')?.ok, false);
  });

  test('the probe cancelled while the prompt is open: the prompt is told to close', async () => {
    const controller = new AbortController();
    let asking!: () => void;
    const askedNow = new Promise<void>((resolve) => (asking = resolve));
    let closed = false;
    const probing = runProbe(machine, {
      env: lab.env(),
      signal: controller.signal,
      askPassphrase: (_file, signal) =>
        new Promise((resolve) => {
          asking();
          signal?.addEventListener('abort', () => {
            closed = true;
            resolve(undefined);
          });
        }),
    });
    await askedNow;
    controller.abort();
    const result = await probing;
    assert.ok(closed, 'the prompt stayed open after the probe was cancelled');
    assert.equal(result.status, 'down');
  });
});
