// A key's passphrase never travels as plain LSP content: `nixBuilders.trace.server = verbose`
// prints every message, so the test records every byte of the LSP stream both ways (what such
// a trace holds) while the language server probes the lab's builder whose key has a passphrase,
// with the client answering as the extension does (sealed to the key the server sent). The
// probe must log in with it, and neither the passphrase nor the private key's body may appear.
//   node --import tsx --test test/system/passphrase-trace.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  askPassphraseRequest,
  listBuildersRequest,
  probeRequest,
  sealSecret,
  type AskPassphraseParams,
} from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';
import { provisionBuilders, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';

let lab: BuilderLab<'passphraseKey'>;
let dir: string;

/** The base64 lines of a PEM / OpenSSH private key file: its body. */
function keyBody(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('-----'));
}

if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['passphraseKey'] });
    dir = mkdtempSync(join(tmpdir(), 'nix-builders-passphrase-trace-'));
  });
  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the probe logs in with the passphrase, and no LSP byte holds the passphrase or the key body', async () => {
    writeFileSync(join(dir, 'nix.conf'), `builders = ${lab.machines('passphraseKey')}\n`);
    const env: NodeJS.ProcessEnv = { ...lab.env(), NIX_CONF_DIR: dir, NIX_USER_CONF_FILES: join(dir, 'none') };
    delete env.NIX_CONFIG;
    const wire: Buffer[] = [];
    const client = await LspClient.start({
      env,
      initializationOptions: { trusted: true },
      wire: (_direction, chunk) => void wire.push(Buffer.from(chunk)),
    });
    const asked: AskPassphraseParams[] = [];
    client.connection.onRequest(askPassphraseRequest, (params) => {
      asked.push(params);
      return { sealed: sealSecret(params.sealTo, lab.passphrase) };
    });
    try {
      client.settings = { nixVersion: '2.8', sshConfigFile: lab.sshConfig, probeTimeout: 8 };
      const list = await client.connection.sendRequest(listBuildersRequest);
      assert.equal(list.sources[0]?.machines.length, 1, JSON.stringify(list));
      const [health] = await client.connection.sendRequest(probeRequest, {});
      assert.ok(health, 'a probe result');
      const summary = `${health.status}: ${health.findings.map((f) => `${f.code}: ${f.message}`).join(' | ')} ${client.stderr}`;
      assert.deepEqual(
        asked.map((a) => a.keyFile),
        [lab.passphraseKey],
        summary,
      );
      // Logged in with the passphrase; only the warning that ssh under Nix cannot ask for it.
      assert.ok(
        health.stages.every((stage) => stage.ok),
        summary,
      );
      assert.deepEqual(
        health.findings.map((f) => f.code),
        ['key-passphrase-prompt'],
        summary,
      );
      assert.equal(health.facts.system, lab.system);

      const trace = Buffer.concat(wire).toString('utf8');
      assert.ok(trace.includes('nixBuilders/askPassphrase'), 'the trace holds the question');
      assert.ok(!trace.includes(lab.passphrase), 'the passphrase is in the LSP stream');
      assert.ok(
        !trace.includes(JSON.stringify(lab.passphrase).slice(1, -1)),
        'the passphrase (JSON-escaped) is in the LSP stream',
      );
      for (const line of keyBody(lab.passphraseKey))
        assert.ok(!trace.includes(line), `a line of the private key is in the LSP stream: ${line.slice(0, 12)}…`);
      assert.ok(!client.stderr.includes(lab.passphrase), "the passphrase is in the server's stderr");
    } finally {
      await client.stop();
    }
  });
}
