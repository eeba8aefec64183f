// "Pin the host key" against a real sshd: the language server fetches the builder's key (key
// exchange only), the user confirms, column 8 is written; then real Nix builds on that line with
// an empty known_hosts, which only works when the pinned key is the builder's real key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from 'vscode-languageserver-protocol';
import { applyWorkspaceEdit } from '../lsp/helpers/edits';
import { LspClient } from '../lsp/helpers/lspClient';
import { nixBuildRemote, provisionBuilders, readWhereBuilt, whereBuiltExpression, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';


let lab: BuilderLab<'healthy'>;
let dir: string;
if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy'] });
    dir = mkdtempSync(join(tmpdir(), 'nix-builders-pin-real-'));
  });
  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the pinned key is the builder\'s own: Nix then builds there with no known_hosts entry', async () => {
    const healthy = lab.builders.healthy;
    const client = await LspClient.start({ initializationOptions: { trusted: true } });
    try {
      client.settings = { nixVersion: '2.8', sshConfigFile: lab.sshConfig };
      const text = `${healthy.uri} ${lab.system} ${lab.clientKey}\n`;
      const uri = await client.open(join(dir, 'machines'), 'nix-machines', text);
      const diagnostics = await client.diagnostics(uri);
      const actions = await client.codeActions(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, diagnostics);
      const pin = actions.find((a) => a.title.startsWith('Pin the host key'));
      assert.ok(pin?.command, `a pin action among ${JSON.stringify(actions.map((a) => a.title))}`);
      let asked = '';
      client.answerMessage = (params) => {
        asked = params.message;
        return params.actions?.find((a) => a.title === 'Pin') ?? null;
      };
      const outcome = (await client.executeCommand(pin.command as Command)) as { pinned: boolean };
      assert.equal(outcome.pinned, true, JSON.stringify(client.messages));
      assert.match(asked, /SHA256:/);
      const pinned = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!.trim();
      const columns = pinned.split(/\s+/);
      assert.equal(columns.length, 8);
      const keyOf = (base64: string) => Buffer.from(base64, 'base64').toString('utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      assert.equal(keyOf(columns[7]!), keyOf(healthy.hostKeyBase64), 'the same type and key as the builder\'s .pub');

      // Real Nix with that line and an ssh config whose known_hosts does not know the builder
      // (a NIX_SSHOPTS -o would win over the known_hosts file Nix makes from column 8).
      const emptyKnownHosts = join(dir, 'known_hosts');
      writeFileSync(emptyKnownHosts, '');
      const config = join(dir, 'ssh_config');
      writeFileSync(config, readFileSync(lab.sshConfig, 'utf8').split(lab.knownHosts).join(emptyKnownHosts));
      const sshOpts = `-F ${config}`;
      const nonce = randomBytes(6).toString('hex');
      const built = await nixBuildRemote(sshOpts, pinned, whereBuiltExpression({ nonce, system: lab.system }));
      assert.equal(built.code, 0, built.stderr);
      assert.equal(readWhereBuilt(built.outPath!).hostname, healthy.hostname);
    } finally {
      await client.stop();
    }
  });
}
