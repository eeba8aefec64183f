// nix-darwin's `nix.linux-builder`: `enable = true` adds a builder of its own (modules/nix/
// linux-builder.nix at nix-darwin 1b8d71182676c7820b4cac0067ac0432860edb63), rendered like a
// `nix.buildMachines` entry (hover, inlay hint, the Remote Builders view) with what the module
// writes itself (hostName linux-builder, user builder, its key file and host key, ssh-ng);
// its options are checked (a misspelt system, maxJobs 0, an option it does not have), and what
// the module writes is not the user's to fix (no missing-key warning for /etc/nix/builder_ed25519).
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MarkupContent } from 'vscode-languageserver-protocol';
import { listBuildersRequest } from '../../server/src/protocol';
import { applyEdits, positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';
import { messageOf, nixModuleSession, ownNixConf } from './helpers/nixModuleSession';

const vmKey =
  'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpCV2N4Yi9CbGFxdDFhdU90RStGOFFVV3JVb3RpQzVxQkorVXVFV2RWQ2Igcm9vdEBuaXhvcwo=';
const fixture = join(__dirname, '../fixtures/nixModules/darwin-linux-builder.nix');

let client: LspClient;
let dir: string;
const session = nixModuleSession('darwin', (s) => ({ client, dir } = s));
const open = (text: string) => session.open(text);
const everything = { start: { line: 0, character: 0 }, end: { line: 50, character: 0 } };

test('enable alone: the line nix-darwin writes, its platform and cores unknown until built, and nothing to fix', async () => {
  const text = '{ pkgs, ... }:\n{\n  nix.linux-builder.enable = true;\n}\n';
  const { uri, diagnostics } = await open(text);
  assert.deepEqual(diagnostics, [], 'no distributedBuilds advice (the module sets it), no missing key');
  const hover = (await client.hover(uri, positionOf(text, 'enable')))?.contents as MarkupContent;
  assert.ok(
    hover.value.includes(
      "```\nssh-ng://builder@linux-builder «the builder VM's nixpkgs.hostPlatform.system» /etc/nix/builder_ed25519 «the builder VM's virtualisation.cores» 1 kvm,benchmark,big-parallel - " +
        vmKey +
        '\n```',
    ),
    hover.value,
  );
  assert.match(hover.value, /nix-darwin's `nix\.linux-builder` adds this builder itself/);
  assert.match(hover.value, /Not known before the system is built: `systems`, `maxJobs`/);
  const hints = await client.inlayHints(uri, everything);
  assert.equal(hints.length, 1);
  assert.match(String(hints[0]!.label), /^machines: ssh-ng:\/\/builder@linux-builder /);
});

test('its options set (the fixture): the whole line, and the view lists it as a declared builder', async () => {
  const text = readFileSync(fixture, 'utf8');
  const { uri, diagnostics } = await open(text);
  assert.deepEqual(diagnostics, []);
  const line = `ssh-ng://builder@linux-builder aarch64-linux,x86_64-linux /etc/nix/builder_ed25519 4 1 kvm,benchmark,big-parallel - ${vmKey}`;
  const hints = await client.inlayHints(uri, everything);
  assert.deepEqual(
    hints.map((h) => h.label),
    [`machines: ${line}`],
  );
  const hover = (await client.hover(uri, positionOf(text, 'maxJobs')))?.contents as MarkupContent;
  assert.match(hover.value, /\*\*maxJobs\*\*/);

  const workspace = mkdtempSync(join(dir, 'workspace-'));
  copyFileSync(fixture, join(workspace, 'darwin-configuration.nix'));
  const view = await LspClient.start({ env: ownNixConf(dir), folders: [workspace] });
  view.settings = { nixVersion: '2.8' };
  try {
    const list = await view.connection.sendRequest(listBuildersRequest);
    const declared = list.sources.filter((s) => s.id.startsWith('declared:'));
    assert.deepEqual(
      declared.map((s) => s.machines.map((m) => [m.uri, m.systems, m.maxJobs, m.location?.line])),
      [[['ssh-ng://builder@linux-builder', ['aarch64-linux', 'x86_64-linux'], 4, 4]]],
    );
  } finally {
    await view.stop();
  }
});

test('its options checked: a misspelt system (fixed to the nearest), maxJobs 0, an option it does not have, the removed modules', async () => {
  const text = `{
  nix.linux-builder = {
    enable = true;
    systems = [ "aarch64-linx" ];
    maxJobs = 0;
    system = "aarch64-linux";
    modules = [ ];
  };
}
`;
  const { uri, diagnostics } = await open(text);
  const on = (code: string) =>
    diagnostics
      .filter((d) => d.code === code)
      .map((d) => text.split('\n')[d.range.start.line]!.slice(d.range.start.character, d.range.end.character));
  assert.deepEqual(on('unknown-system'), ['"aarch64-linx"']);
  assert.deepEqual(on('nixos-wrong-type'), ['0']);
  assert.match(
    messageOf(diagnostics.find((d) => d.code === 'nixos-wrong-type')!),
    /`nix\.linux-builder\.maxJobs` is an integer: nix-darwin stops with .*not of type `positive integer, meaning >0'/,
  );
  assert.deepEqual(on('nixos-unknown-attribute'), ['system', 'modules']);
  const [system, modules] = diagnostics.filter((d) => d.code === 'nixos-unknown-attribute');
  assert.match(messageOf(system!), /no option `nix\.linux-builder\.system`.*Did you mean `systems`\?/);
  assert.match(messageOf(modules!), /replaced with `nix\.linux-builder\.config`/);
  const misspelt = diagnostics.find((d) => d.code === 'unknown-system')!;
  const actions = await client.codeActions(uri, misspelt.range, [misspelt]);
  assert.deepEqual(
    actions.map((a) => a.title),
    ['Change to aarch64-linux'],
  );
  assert.equal(applyEdits(text, actions[0]!.edit!.changes![uri]!), text.replace('aarch64-linx', 'aarch64-linux'));
});
