// "Pin the host key" on a builder declared in Nix, against real lab builders (sshd in their own
// namespaces, test/system/fixture): on an entry without publicHostKey the code action fetches
// the builder's key (key exchange only), the user confirms its fingerprint as on the machines-file
// side, and `publicHostKey = "<base64 -w0 of the .pub line>";` is written into the entry; real
// Nix then builds on the line NixOS renders with no known_hosts entry for the builder, which
// works only with the builder's real key. A bare key is replaced in place by its wrapped form
// once the builder presents it; a key on record (known_hosts) is never replaced; untrusted, the
// action is disabled and nothing connects.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CodeAction, Command, Diagnostic, InlayHint } from 'vscode-languageserver-protocol';
import { confirmPin } from './helpers/confirmPin';
import { applyWorkspaceEdit } from './helpers/edits';
import { LspClient } from './helpers/lspClient';
import {
  nixBuildRemote,
  provisionBuilders,
  readWhereBuilt,
  run,
  whereBuiltExpression,
  type BuilderLab,
} from '../system/fixture';
import { labCanRun } from '../system/fixture/gate';

let lab: BuilderLab<'healthy' | 'wrongHostKey'>;
let dir: string;
/** The lab's ssh config with a known_hosts that knows no builder: pinning is for an unknown key. */
let unknownConfig: string;
let count = 0;

const dynamic = { dynamicRegistration: true };
async function started(trusted: boolean | undefined, sshConfigFile: string): Promise<LspClient> {
  const client = await LspClient.start({
    ...(trusted === undefined ? {} : { initializationOptions: { trusted } }),
    capabilities: {
      textDocument: {
        synchronization: dynamic,
        inlayHint: dynamic,
        codeAction: {
          ...dynamic,
          codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor'] } },
          disabledSupport: true,
        },
      },
    },
  });
  client.settings = { nixVersion: '2.8', sshConfigFile };
  return client;
}

/** The `type AAAA…` of a base64 key line. */
const keyOf = (base64: string) =>
  Buffer.from(base64, 'base64').toString('utf8').trim().split(/\s+/).slice(0, 2).join(' ');

/** A configuration.nix with one builder, its attributes one a line. */
const configuration = (hostName: string, extra = '') => `{ pkgs, ... }:
{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    {
      hostName = "${hostName}";
      system = "${lab.system}";
      sshKey = "${lab.clientKey}";${extra}
    }
  ];
}
`;

async function opened(client: LspClient, text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
  const uri = await client.open(join(dir, `configuration-${count++}.nix`), 'nix', text);
  return { uri, diagnostics: await client.diagnostics(uri) };
}

async function pinActionOf(client: LspClient, uri: string, text: string, diagnostics: Diagnostic[]) {
  const lines = text.split('\n').length;
  const actions = await client.codeActions(
    uri,
    { start: { line: 0, character: 0 }, end: { line: lines, character: 0 } },
    diagnostics,
  );
  return { actions, pin: actions.find((a: CodeAction) => a.title.startsWith('Pin the host key')) };
}

if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy', 'wrongHostKey'] });
    dir = mkdtempSync(join(lab.dir, 'nix-pin-'));
    const emptyKnownHosts = join(dir, 'known_hosts-empty');
    writeFileSync(emptyKnownHosts, '');
    unknownConfig = join(dir, 'ssh_config-unknown');
    writeFileSync(unknownConfig, readFileSync(lab.sshConfig, 'utf8').split(lab.knownHosts).join(emptyKnownHosts));
  });
  after(async () => {
    await lab?.stop();
  });

  test('an entry without publicHostKey: the fingerprint is asked as ssh-keygen prints it, publicHostKey is written in the entry, and real Nix builds on the rendered line', async () => {
    const healthy = lab.builders.healthy;
    const client = await started(true, unknownConfig);
    try {
      const text = configuration(healthy.alias);
      const { uri, diagnostics } = await opened(client, text);
      const { actions, pin } = await pinActionOf(client, uri, text, diagnostics);
      assert.ok(pin?.command, `a pin action among ${JSON.stringify(actions.map((a) => a.title))}`);
      assert.equal(pin.title, `Pin the host key of ${healthy.alias} as publicHostKey (fetch it over SSH)`);
      assert.equal(pin.disabled, undefined);
      const { asked } = await confirmPin(client, pin.command as Command);
      const pub = join(dir, 'healthy.pub');
      writeFileSync(pub, `${healthy.hostPublicKeyLine}\n`);
      const [bits, fingerprint] = (await run('ssh-keygen', ['-lf', pub])).stdout.split(' ');
      assert.ok(asked.includes(`ssh-ed25519 ${fingerprint} (${bits} bits)`), asked);
      assert.match(asked, /ssh-keygen -lf \/etc\/ssh\/ssh_host_ed25519_key\.pub/);

      const pinned = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!;
      const written = /\n {6}publicHostKey = "([A-Za-z0-9+/=]+)";\n {4}\}/.exec(pinned);
      assert.ok(written, pinned);
      assert.equal(keyOf(written[1]!), keyOf(healthy.hostKeyBase64), "the builder's own key line, base64");
      assert.equal(pinned, text.replace(`;\n    }`, `;\n      publicHostKey = "${written[1]}";\n    }`));

      const version = await client.change(uri, pinned);
      const after = await client.diagnostics(uri, (p) => p.version === version);
      assert.deepEqual(
        after.filter((d) => /host-key/.test(String(d.code))),
        [],
      );
      const hints: InlayHint[] = await client.inlayHints(uri, {
        start: { line: 0, character: 0 },
        end: { line: 20, character: 0 },
      });
      const line = String(hints[0]?.label).replace(/^machines: /, '');
      assert.equal(line, `ssh://${healthy.alias} ${lab.system} ${lab.clientKey} 1 1 - - ${written[1]}`);
      // Real Nix, that line, the ssh config whose known_hosts knows nothing: only the right key works.
      const built = await nixBuildRemote(
        `-F ${unknownConfig}`,
        line,
        whereBuiltExpression({ nonce: randomBytes(6).toString('hex'), system: lab.system }),
      );
      assert.equal(built.code, 0, built.stderr);
      assert.equal(readWhereBuilt(built.outPath!).hostname, healthy.hostname);
    } finally {
      await client.stop();
    }
  });

  test('the bare key of the builder: the pin action goes with its diagnostic and writes the wrapped form in place', async () => {
    const healthy = lab.builders.healthy;
    const client = await started(true, unknownConfig);
    try {
      const bare = healthy.hostPublicKeyLine.split(' ')[1]!;
      const text = `{ nix.distributedBuilds = true; nix.buildMachines = [ { hostName = "${healthy.alias}"; system = "${lab.system}"; publicHostKey = "${bare}"; } ]; }\n`;
      const { uri, diagnostics } = await opened(client, text);
      assert.ok(
        diagnostics.some((d) => d.code === 'host-key-raw'),
        JSON.stringify(diagnostics.map((d) => d.code)),
      );
      const { pin } = await pinActionOf(client, uri, text, diagnostics);
      assert.equal(pin?.kind, 'quickfix');
      assert.deepEqual(
        pin.diagnostics?.map((d) => d.code),
        ['host-key-raw'],
      );
      await confirmPin(client, pin.command as Command);
      const pinned = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!;
      const wrapped = Buffer.from(healthy.hostPublicKeyLine.split(' ').slice(0, 2).join(' ')).toString('base64');
      const column8 = /publicHostKey = "([^"]+)"/.exec(pinned)![1]!;
      assert.equal(
        Buffer.from(column8, 'base64').toString().split(' ').slice(0, 2).join(' '),
        Buffer.from(wrapped, 'base64').toString(),
      );
      assert.equal(pinned, text.replace(`"${bare}"`, `"${column8}"`));
    } finally {
      await client.stop();
    }
  });

  test('a key on record: known_hosts knows it, no pin action; known_hosts holds another key, none either, and the command refuses and asks nothing', async () => {
    const client = await started(true, lab.sshConfig);
    try {
      const known = configuration(lab.builders.healthy.alias);
      const first = await opened(client, known);
      assert.equal((await pinActionOf(client, first.uri, known, first.diagnostics)).pin, undefined);
      const wrong = lab.builders.wrongHostKey;
      const changed = configuration(wrong.alias);
      const second = await opened(client, changed);
      assert.equal((await pinActionOf(client, second.uri, changed, second.diagnostics)).pin, undefined);
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const forged: Command = {
        title: 'Pin host key',
        command: 'nixBuilders.pinDeclaredHostKey',
        arguments: [{ uri: second.uri, offset: 0, hostName: wrong.alias }],
      };
      const outcome = (await client.executeCommand(forged)) as { pinned: boolean; reason: string };
      assert.equal(outcome.pinned, false);
      assert.match(outcome.reason, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.equal(client.messageRequests.length, 0, 'asked the user to trust a changed key');
      assert.equal(client.appliedEdits.length, 0);
    } finally {
      await client.stop();
    }
  });

  /** The configuration with the builder as an alias only its own programs.ssh.extraConfig knows. */
  const viaExtraConfig = (knownHosts = '') => {
    const healthy = lab.builders.healthy;
    return configuration('declared-builder').replace(
      '  nix.distributedBuilds = true;\n',
      `  nix.distributedBuilds = true;
  programs.ssh.extraConfig = \'\'
    Host declared-builder
      HostName ${healthy.address}
      Port ${healthy.port}
  \'\';
${knownHosts}`,
    );
  };
  /** The name ssh looks the builder's key up under, reached by address (no HostKeyAlias). */
  const lookupName = () => {
    const healthy = lab.builders.healthy;
    return healthy.port === 22 ? healthy.address : `[${healthy.address}]:${healthy.port}`;
  };

  test("a Host alias of the configuration's programs.ssh.extraConfig: resolved through it (the prompt says so), and the builder's key pinned", async () => {
    const healthy = lab.builders.healthy;
    const client = await started(true, unknownConfig);
    try {
      const text = viaExtraConfig();
      const { uri, diagnostics } = await opened(client, text);
      const { actions, pin } = await pinActionOf(client, uri, text, diagnostics);
      assert.ok(pin?.command, JSON.stringify(actions.map((a) => a.title)));
      const { asked } = await confirmPin(client, pin.command as Command);
      assert.ok(
        asked.includes(
          `for declared-builder (${healthy.address}:${healthy.port}, as programs.ssh.extraConfig of this configuration say, which the daemon's ssh reads after a rebuild)?`,
        ),
        asked,
      );
      const pinned = applyWorkspaceEdit(client.appliedEdits.at(-1)!.edit, { [uri]: text })[uri]!;
      const column8 = /publicHostKey = "([^"]+)"/.exec(pinned)![1]!;
      assert.equal(keyOf(column8), keyOf(healthy.hostKeyBase64));
    } finally {
      await client.stop();
    }
  });

  test("programs.ssh.knownHosts of the configuration is a key on record: its builder's key, no pin action; another key, the command refuses naming it", async () => {
    const healthy = lab.builders.healthy;
    const impostor = Buffer.from(lab.builders.wrongHostKey.machinesHostKey, 'base64').toString('utf8').trim();
    const knownHosts = (line: string) =>
      `  programs.ssh.knownHosts.builder = { hostNames = [ "${lookupName()}" ]; publicKey = "${line}"; };\n`;
    const client = await started(true, unknownConfig);
    try {
      const own = viaExtraConfig(knownHosts(healthy.hostPublicKeyLine));
      const first = await opened(client, own);
      assert.equal((await pinActionOf(client, first.uri, own, first.diagnostics)).pin, undefined);

      const other = viaExtraConfig(knownHosts(impostor));
      const second = await opened(client, other);
      assert.equal((await pinActionOf(client, second.uri, other, second.diagnostics)).pin, undefined);
      client.answerMessage = (params) => params.actions?.find((a) => a.title === 'Pin') ?? null;
      const forged: Command = {
        title: 'Pin host key',
        command: 'nixBuilders.pinDeclaredHostKey',
        arguments: [{ uri: second.uri, offset: 0, hostName: 'declared-builder' }],
      };
      const outcome = (await client.executeCommand(forged)) as { pinned: boolean; reason: string };
      assert.equal(outcome.pinned, false);
      assert.match(outcome.reason, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.match(outcome.reason, /but programs\.ssh\.knownHosts of this configuration expects SHA256:/);
      assert.equal(client.messageRequests.length, 0, 'asked the user to trust a changed key');
    } finally {
      await client.stop();
    }
  });

  test('untrusted: the action is there but disabled, and the command connects to nothing (the sshd logs no connection)', async () => {
    const healthy = lab.builders.healthy;
    const client = await started(undefined, unknownConfig);
    try {
      const text = configuration(healthy.alias);
      const { uri, diagnostics } = await opened(client, text);
      const { pin } = await pinActionOf(client, uri, text, diagnostics);
      assert.match(pin?.disabled?.reason ?? '', /trust the workspace/);
      const connectionsBefore = readFileSync(healthy.sshdLog, 'utf8').split('Connection from').length;
      const outcome = (await client.executeCommand(pin!.command as Command)) as { pinned: boolean; reason: string };
      assert.equal(outcome.pinned, false);
      assert.match(outcome.reason, /not trusted/);
      assert.equal(readFileSync(healthy.sshdLog, 'utf8').split('Connection from').length, connectionsBefore);
      assert.equal(client.messageRequests.length, 0);
    } finally {
      await client.stop();
    }
  });
}
