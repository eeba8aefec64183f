// Builders declared in Nix (`nix.buildMachines` in a NixOS or nix-darwin module) over a real LSP
// connection: the machines-file checks run on the line NixOS renders and land on the attribute
// that wrote the part they are about; the module's own errors (no system, a misspelt attribute,
// a wrong type, distributed builds off); the hover shows the rendered line; and .nix files that
// never mention buildMachines get nothing. The seeds' snippets are the fixtures.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { DiagnosticSeverity, type Diagnostic, type Hover, type MarkupContent } from 'vscode-languageserver-protocol';
import { applyEdits, positionOf } from './helpers/edits';
import type { LspClient } from './helpers/lspClient';
import { messageOf, nixModuleSession } from './helpers/nixModuleSession';

const fixtures = join(__dirname, '../fixtures/nixModules');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');

let client: LspClient;
let dir: string;
const session = nixModuleSession('configuration', (s) => ({ client, dir } = s));
const open = (text: string) => session.open(text);

const textOf = (hover: Hover | null) => (hover?.contents as MarkupContent | undefined)?.value ?? '';

/** The one diagnostic with `code`, and the text it underlines. */
function only(text: string, diagnostics: Diagnostic[], code: string): { diagnostic: Diagnostic; underlined: string } {
  const found = diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, `one ${code} in ${JSON.stringify(diagnostics.map((d) => d.code))}`);
  const lines = text.split('\n');
  const { start, end } = found[0]!.range;
  assert.equal(start.line, end.line, 'on one line');
  return { diagnostic: found[0]!, underlined: lines[start.line]!.slice(start.character, end.character) };
}

describe('the seeds', () => {
  test('the NixOS wiki example is clean: distributed builds on, a system, nothing to check', async () => {
    const { diagnostics } = await open(fixture('wiki-distributed-build.nix'));
    assert.deepEqual(diagnostics, []);
  });

  test('the nix.dev tutorial: its key does not exist here (on sshKey), its system is known only once built', async () => {
    const text = fixture('nixdev-distributed-builds.nix');
    const { uri, diagnostics } = await open(text);
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['ssh-key-missing'],
    );
    assert.equal(only(text, diagnostics, 'ssh-key-missing').underlined, '"/root/.ssh/remotebuild"');
    const hover = textOf(await client.hover(uri, positionOf(text, 'hostName')));
    assert.match(
      hover,
      /```\nssh:\/\/remotebuild@remotebuilder «pkgs\.stdenv\.hostPlatform» \/root\/\.ssh\/remotebuild 1 1 nixos-test,big-parallel,kvm - -\n```/,
    );
    assert.match(hover, /Not known before the system is built: `system`/);
  });

  test('the blog post: distributedBuilds is not set in its module, said once on nix.buildMachines', async () => {
    const text = fixture('blog-remote-builders.nix');
    const { diagnostics } = await open(text);
    const unset = only(text, diagnostics, 'nixos-distributed-builds-unset');
    assert.equal(unset.underlined, 'nix.buildMachines');
    assert.equal(unset.diagnostic.severity, DiagnosticSeverity.Information);
    assert.equal(only(text, diagnostics, 'ssh-key-missing').underlined, '"/home/user/.ssh/builder-rsa"');
  });
});

describe('the machines-line checks land on the attribute', () => {
  const text = `{ config, lib, ... }:
{
  nix = {
    distributedBuilds = false;
    buildMachines = lib.mkForce [
      {
        hostName = "b";
        systems = [ "x86_64-linux" "x86-64-linux" ];
        maxJobs = 0;
        speedFactor = 1.5;
        publicHostKey = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
      }
    ];
  };
}
`;
  let diagnostics: Diagnostic[];
  before(async () => {
    ({ diagnostics } = await open(text));
  });

  test('a misspelt system: on that item of systems, with the nearest one', () => {
    const { diagnostic, underlined } = only(text, diagnostics, 'unknown-system');
    assert.equal(underlined, '"x86-64-linux"');
    assert.match(messageOf(diagnostic), /Did you mean x86_64-linux\?/);
    assert.match(
      messageOf(diagnostic),
      /in the line NixOS writes for this builder: `ssh:\/\/b x86_64-linux,x86-64-linux - 0 1\.500000 - - AAAA/,
    );
  });

  test('maxJobs 0 on its value; a float speedFactor, written 1.500000, is an Error for Nix 2.8', () => {
    assert.equal(only(text, diagnostics, 'max-jobs-zero').underlined, '0');
    const speed = only(text, diagnostics, 'speed-factor-invalid');
    assert.equal(speed.underlined, '1.5');
    assert.equal(speed.diagnostic.severity, DiagnosticSeverity.Error);
  });

  test('the bare host key on publicHostKey: NixOS wants the base64 of the .pub line', () => {
    assert.equal(
      only(text, diagnostics, 'host-key-raw').underlined,
      '"AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"',
    );
  });

  test('distributedBuilds = false inside `nix = { … }`: a Warning on `false`', () => {
    const off = only(text, diagnostics, 'nixos-distributed-builds-off');
    assert.equal(off.underlined, 'false');
    assert.equal(off.diagnostic.severity, DiagnosticSeverity.Warning);
    assert.match(messageOf(off.diagnostic), /no build uses these builders/);
  });

  test('a port in hostName: Nix before 2.31 cannot read it, said on hostName', async () => {
    const withPort =
      '{ nix.distributedBuilds = true; nix.buildMachines = [ { hostName = "b.example.org:2222"; system = "x86_64-linux"; } ]; }\n';
    const { diagnostics: found } = await open(withPort);
    assert.equal(only(withPort, found, 'port-in-uri').underlined, '"b.example.org:2222"');
  });

  test('from Nix 2.20 the float speedFactor is no error', async () => {
    client.settings = { nixVersion: '2.24' };
    const later = await open(text);
    client.settings = { nixVersion: '2.8' };
    assert.equal(later.diagnostics.filter((d) => d.code === 'speed-factor-invalid').length, 0);
  });
});

describe("the module's own errors", () => {
  test('no system, a misspelt attribute, a path for sshKey, an unknown protocol, the same builder twice', async () => {
    const text = `{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    { hostName = "nosys"; }
    { hostname = "typo"; hostName = "t"; system = "x86_64-linux"; sshKey = /root/.ssh/id_builder; protocol = "ssh-ng2"; }
    { hostName = "twice"; system = "x86_64-linux"; }
    { hostName = "twice"; system = "aarch64-linux"; }
  ];
}
`;
    const { diagnostics } = await open(text);
    const noSystem = only(text, diagnostics, 'nixos-no-system');
    assert.equal(noSystem.diagnostic.severity, DiagnosticSeverity.Error);
    assert.match(
      messageOf(noSystem.diagnostic),
      /Builder nosys has neither `system` nor `systems`.*At least one system type/,
    );
    const typo = only(text, diagnostics, 'nixos-unknown-attribute');
    assert.equal(typo.underlined, 'hostname');
    assert.match(messageOf(typo.diagnostic), /Did you mean `hostName`\?/);
    const path = only(text, diagnostics, 'nixos-wrong-type');
    assert.equal(path.underlined, '/root/.ssh/id_builder');
    assert.match(
      messageOf(path.diagnostic),
      /not of type `null or string'.*Write it as a string \("\/root\/\.ssh\/id_builder"\)/,
    );
    assert.equal(only(text, diagnostics, 'nixos-protocol').underlined, '"ssh-ng2"');
    const twice = only(text, diagnostics, 'duplicate-machine');
    assert.equal(twice.diagnostic.range.start.line, 6, 'on the second one');
    assert.equal(twice.underlined, '"twice"');
  });
});

describe('only the .nix files that declare builders', () => {
  test('the server registers for nix documents itself, so its other features stay off .nix files', () => {
    const methods = client.registrations
      .filter((r) => JSON.stringify(r.registerOptions).includes('"language":"nix"'))
      .map((r) => r.method);
    assert.deepEqual(methods.sort(), [
      'textDocument/codeAction',
      'textDocument/didChange',
      'textDocument/didClose',
      'textDocument/didOpen',
      'textDocument/hover',
      'textDocument/inlayHint',
    ]);
  });

  test('a .nix file without buildMachines gets no diagnostics, and loses them when it stops declaring builders', async () => {
    const plain = await client.open(join(dir, 'default.nix'), 'nix', '{ pkgs ? import <nixpkgs> {} }: pkgs.hello\n');
    const { uri } = await open('{ nix.buildMachines = [ { hostName = "x"; } ]; }\n');
    assert.equal(client.publishes(plain).length, 0);
    assert.equal((await client.diagnostics(uri)).length > 0, true);
    await client.change(uri, '{ nix.gc.automatic = true; }\n');
    assert.deepEqual(await client.diagnostics(uri), []);
  });

  test('the hover outside an entry is nothing; on an attribute name it says what the module says', async () => {
    const text =
      '{\n  nix.buildMachines = [ { hostName = "h"; systems = [ "x86_64-linux" "aarch64-linux" ]; protocol = null; } ];\n  nix.distributedBuilds = true;\n  nix.gc.automatic = true;\n}\n';
    const { uri } = await open(text);
    assert.equal(await client.hover(uri, positionOf(text, 'gc.automatic')), null);
    const hover = textOf(await client.hover(uri, positionOf(text, 'protocol')));
    assert.match(hover, /\*\*protocol\*\* · one of null, "ssh", "ssh-ng" · default `"ssh"`/);
    assert.match(hover, /```\nh x86_64-linux,aarch64-linux - 1 1 - - -\n```/);
  });

  test('text the grammar cannot read never takes the server down', async () => {
    const { uri } = await open('{ nix.buildMachines = [ { hostName = ; systems = [ "x" ; } ] ++ ${ \n');
    assert.ok(Array.isArray(await client.diagnostics(uri)));
    assert.ok((await client.hover(uri, { line: 0, character: 30 })) !== undefined);
  });
});

describe('quick fixes and the rendered line after each entry', () => {
  /** The text after the one fix offered for the diagnostic with `code`. */
  async function fixed(text: string, code: string): Promise<{ title: string; text: string }> {
    const { uri, diagnostics } = await open(text);
    const diagnostic = diagnostics.find((d) => d.code === code);
    assert.ok(diagnostic, JSON.stringify(diagnostics));
    const actions = await client.codeActions(uri, diagnostic.range, [diagnostic]);
    assert.equal(actions.length, 1, JSON.stringify(actions));
    return { title: actions[0]!.title, text: applyEdits(text, actions[0]!.edit!.changes![uri]!) };
  }

  test('distributedBuilds not set: added next to nix.buildMachines, in the way the file writes it', async () => {
    const text = '{\n  nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ];\n}\n';
    assert.deepEqual(await fixed(text, 'nixos-distributed-builds-unset'), {
      title: 'Add nix.distributedBuilds = true',
      text: '{\n  nix.distributedBuilds = true;\n  nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ];\n}\n',
    });
    const nested = '{\n  nix = {\n    buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ];\n  };\n}\n';
    assert.equal(
      (await fixed(nested, 'nixos-distributed-builds-unset')).text,
      '{\n  nix = {\n    distributedBuilds = true;\n    buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ];\n  };\n}\n',
    );
  });

  test('distributedBuilds = false becomes true; a misspelt system and attribute become the nearest', async () => {
    const off =
      '{ nix.distributedBuilds = false; nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ]; }\n';
    assert.equal((await fixed(off, 'nixos-distributed-builds-off')).text, off.replace('false', 'true'));
    const system =
      '{ nix.distributedBuilds = true; nix.buildMachines = [ { hostName = "b"; systems = [ "aarch64-linux" "x86-64-linux" ]; } ]; }\n';
    assert.deepEqual(await fixed(system, 'unknown-system'), {
      title: 'Change to x86_64-linux',
      text: system.replace('"x86-64-linux"', '"x86_64-linux"'),
    });
    const typo =
      '{ nix.distributedBuilds = true; nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; maxjobs = 4; } ]; }\n';
    assert.equal((await fixed(typo, 'nixos-unknown-attribute')).text, typo.replace('maxjobs', 'maxJobs'));
  });

  test('an inlay hint after each entry shows its machines line; the setting turns it off', async () => {
    const text =
      '{ nix.distributedBuilds = true; nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; maxJobs = 4; } ]; }\n';
    const { uri } = await open(text);
    const range = { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } };
    const hints = await client.inlayHints(uri, range);
    assert.deepEqual(
      hints.map((h) => [h.label, h.position]),
      [['machines: ssh://b x86_64-linux - 4 1 - - -', positionOf(text, ' ]; }')]],
    );
    await client.changeSettings({ nixVersion: '2.8', inlayHints: { enabled: false } });
    try {
      assert.deepEqual(await client.inlayHints(uri, range), []);
    } finally {
      await client.changeSettings({ nixVersion: '2.8' });
    }
  });
});

describe('features a derivation will ask for', () => {
  test('a misspelt feature in supportedFeatures: on that item, with the well-known one it was meant to be', async () => {
    const text = `{
  nix.distributedBuilds = true;
  nix.buildMachines = [
    { hostName = "b"; system = "x86_64-linux"; supportedFeatures = [ "kvm" "big_parallel" ]; }
  ];
}
`;
    const { diagnostics } = await open(text);
    const { diagnostic, underlined } = only(text, diagnostics, 'unknown-feature');
    assert.equal(underlined, '"big_parallel"');
    assert.match(messageOf(diagnostic), /big-parallel/);
  });
});
