// "Pin the host key" against a real sshd: the language server fetches the builder's key (key
// exchange only), the user confirms, column 8 is written; then real Nix builds on that line with
// an empty known_hosts, which only works when the pinned key is the builder's real key. So for
// builders of Nix 2.8 (OpenSSH 9.2), 2.26 and 2.34 (the version lab's sshd), and with each
// release's own Nix as the client too (it writes column 8 into its own known_hosts file). Against
// the builder whose key changed (known_hosts and column 8 hold another key), nothing offers to
// pin, the command refuses, and the probe's finding says how to check and remove the old key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from 'vscode-languageserver-protocol';
import { confirmPin } from '../lsp/helpers/confirmPin';
import { applyWorkspaceEdit } from '../lsp/helpers/edits';
import { LspClient } from '../lsp/helpers/lspClient';
import {
  clientEnv,
  LAB_NIX_VERSIONS,
  LAB_VERSION_LIST,
  nixBuildRemote,
  provisionBuilders,
  readWhereBuilt,
  run,
  whereBuiltExpression,
  type BuilderLab,
} from './fixture';
import { labCanRun, labNixCanRun } from './fixture/gate';
import { makeLabClient } from './fixture/labClient';
import { runProbe } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';

/** The builders to pin: the machine's Nix 2.8, and each version lab release whose chroot is ready. */
const PINNED = [
  { version: '2.8', builder: 'healthy' },
  ...LAB_VERSION_LIST.map((version) => ({ version, builder: `healthy${LAB_NIX_VERSIONS[version].tag}` as const })),
] as const;
type Pinned = (typeof PINNED)[number]['builder'];

let lab: BuilderLab<Pinned | 'wrongHostKey'>;
let dir: string;
if (labCanRun()) {
  const releases = PINNED.filter((pinned) => pinned.version === '2.8' || labNixCanRun(pinned.version));
  before(async () => {
    lab = await provisionBuilders({ builders: [...releases.map((pinned) => pinned.builder), 'wrongHostKey'] });
    dir = mkdtempSync(join(lab.dir, 'pin-'));
  });
  after(async () => {
    await lab?.stop();
  });

  for (const { version, builder: name } of releases) {
    test(`the pinned key is the Nix ${version} builder's own: Nix then builds there with no known_hosts entry${version === '2.8' ? '' : `, the machine's 2.8 and ${version} as the client`}`, async () => {
      const healthy = lab.builders[name];
      // An ssh config whose known_hosts does not know the builder: pinning is for an unknown key.
      // (A NIX_SSHOPTS -o would win over the known_hosts file Nix makes from column 8.)
      const emptyKnownHosts = join(dir, `known_hosts-${name}`);
      writeFileSync(emptyKnownHosts, '');
      const config = join(dir, `ssh_config-${name}`);
      writeFileSync(config, readFileSync(lab.sshConfig, 'utf8').split(lab.knownHosts).join(emptyKnownHosts));
      const client = await LspClient.start({ initializationOptions: { trusted: true } });
      try {
        client.settings = { nixVersion: '2.8', sshConfigFile: config };
        const text = `${healthy.uri} ${lab.system} ${lab.clientKey}\n`;
        const uri = await client.open(join(dir, `${name}.machines`), 'nix-machines', text);
        const diagnostics = await client.diagnostics(uri);
        const actions = await client.codeActions(
          uri,
          { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
          diagnostics,
        );
        const pin = actions.find((a) => a.title.startsWith('Pin the host key'));
        assert.ok(pin?.command, `a pin action among ${JSON.stringify(actions.map((a) => a.title))}`);
        const { asked } = await confirmPin(client, pin.command as Command);
        assert.match(asked, /SHA256:/);
        const pinned = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!.trim();
        const columns = pinned.split(/\s+/);
        assert.equal(columns.length, 8);
        const keyOf = (base64: string) =>
          Buffer.from(base64, 'base64').toString('utf8').trim().split(/\s+/).slice(0, 2).join(' ');
        assert.equal(keyOf(columns[7]!), keyOf(healthy.hostKeyBase64), "the same type and key as the builder's .pub");

        // Real Nix with that line and the same ssh config: the machine's, then the release's own.
        const sshOpts = `-F ${config}`;
        const built = await nixBuildRemote(
          sshOpts,
          pinned,
          whereBuiltExpression({ nonce: randomBytes(6).toString('hex'), system: lab.system }),
        );
        assert.equal(built.code, 0, built.stderr);
        assert.equal(readWhereBuilt(built.outPath!).hostname, healthy.hostname);
        if (version !== '2.8') {
          const own = makeLabClient(lab.dir, version);
          const expression = whereBuiltExpression({ nonce: randomBytes(6).toString('hex'), system: lab.system });
          const result = await run('nix-build', ['--no-out-link', '-j0', '--builders', pinned, '-E', expression], {
            env: own.env(clientEnv(sshOpts)),
            cwd: '/',
            timeoutMs: 60_000,
          });
          assert.equal(result.code, 0, result.output);
          assert.equal(readWhereBuilt(own.outside(result.stdout.trim().split('\n').pop()!)).hostname, healthy.hostname);
        }
      } finally {
        await client.stop();
      }
    });
  }

  test('a changed key (known_hosts or column 8 holds another key): no pin action, the command refuses, the finding says how to check and remove the old key', async () => {
    const wrong = lab.builders.wrongHostKey;
    const removeOld = `ssh-keygen -R ${wrong.alias} -f ${lab.knownHosts}`;
    const client = await LspClient.start({ initializationOptions: { trusted: true } });
    try {
      client.settings = { nixVersion: '2.8', sshConfigFile: lab.sshConfig };
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      // known_hosts only, then the lab's own line (column 8 holds the impostor key too).
      for (const [n, text] of [`${wrong.uri} ${lab.system} ${lab.clientKey}\n`, `${wrong.machinesLine}\n`].entries()) {
        const uri = await client.open(join(dir, `changed-${n}.machines`), 'nix-machines', text);
        const diagnostics = await client.diagnostics(uri);
        const actions = await client.codeActions(
          uri,
          { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
          diagnostics,
        );
        assert.ok(
          !actions.some((a) => a.title.startsWith('Pin the host key')),
          JSON.stringify(actions.map((a) => a.title)),
        );
        const forged: Command = {
          title: 'Pin host key',
          command: 'nixBuilders.pinHostKey',
          arguments: [{ uri, offset: 0, storeUri: wrong.uri }],
        };
        const outcome = (await client.executeCommand(forged)) as { pinned: boolean; reason: string };
        assert.equal(outcome.pinned, false);
        assert.match(outcome.reason, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
        if (n === 1) assert.match(outcome.reason, /column 8 of its machines line expects/);
        else assert.ok(outcome.reason.includes(removeOld), outcome.reason);
      }
      assert.equal(client.messageRequests.length, 0, 'asked the user to trust a changed key');
      assert.equal(client.appliedEdits.length, 0);
    } finally {
      await client.stop();
    }

    const [machine] = parseBuilders(`${wrong.uri} ${lab.system} ${lab.clientKey}\n`, nix2_8Rules, {
      localSystem: lab.system,
    }).machines;
    const result = await runProbe(machine!, { env: lab.env(), timeoutMs: 8000 });
    const finding = result.findings.find((f) => f.code === 'host-key-mismatch');
    assert.ok(finding, JSON.stringify(result.findings));
    assert.notEqual(finding.action?.kind, 'pin-host-key');
    assert.match(finding.message, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.ok(finding.message.includes(removeOld), finding.message);
    assert.ok(
      result.findings.every((f) => f.action?.kind !== 'pin-host-key'),
      'a pin action on a changed key',
    );
  });
}
