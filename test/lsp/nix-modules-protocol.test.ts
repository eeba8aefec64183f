// `protocol` of a builder declared in Nix: the module's enum allows "ssh", "ssh-ng" and null
// only. Anything else is an Error naming the allowed values, with the nearest one as the fix;
// the hover on `null` says that no scheme is written, and real Nix reads what is written then.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiagnosticSeverity, type Diagnostic, type MarkupContent } from 'vscode-languageserver-protocol';
import { applyEdits, positionOf } from './helpers/edits';
import type { LspClient } from './helpers/lspClient';
import { messageOf, nixModuleSession } from './helpers/nixModuleSession';

let client: LspClient;
const session = nixModuleSession('protocol', (s) => (client = s.client));
const open = (text: string) => session.open(text);
const entry = (protocol: string) =>
  `{\n  nix.distributedBuilds = true;\n  nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; protocol = ${protocol}; } ];\n}\n`;

describe('protocol values', () => {
  for (const [written, fixed] of [
    ['"ssh-ng2"', '"ssh-ng"'],
    ['"SSH"', '"ssh"'],
    ['"ssh-ng://"', '"ssh-ng"'],
    ['"shh"', '"ssh"'],
  ] as const) {
    test(`${written}: an Error on the value naming the allowed values, fixed to ${fixed}`, async () => {
      const text = entry(written);
      const { uri, diagnostics } = await open(text);
      assert.deepEqual(
        diagnostics.map((d) => d.code),
        ['nixos-protocol'],
      );
      const [diagnostic] = diagnostics as [Diagnostic];
      assert.equal(diagnostic.severity, DiagnosticSeverity.Error);
      assert.deepEqual(diagnostic.range.start, positionOf(text, written));
      const message = messageOf(diagnostic);
      assert.match(message, /not of type `one of null, "ssh", "ssh-ng"'/);
      assert.match(message, /The allowed values are "ssh": `ssh:\/\/`.*; "ssh-ng": `ssh-ng:\/\/`.*; null: no scheme/);
      assert.ok(message.includes(`Did you mean ${fixed}?`), message);
      const actions = await client.codeActions(uri, diagnostic.range, [diagnostic]);
      assert.deepEqual(
        actions.map((a) => a.title),
        [`Change to ${fixed}`],
      );
      const after = applyEdits(text, actions[0]!.edit!.changes![uri]!);
      assert.equal(after, entry(fixed));
      const version = await client.change(uri, after);
      assert.deepEqual(await client.diagnostics(uri, (p) => p.version === version), []);
    });
  }

  test('a value nothing is near, or not a string: the Error and the allowed values, no fix', async () => {
    for (const written of ['"sftp"', '1', 'true']) {
      const { uri, diagnostics } = await open(entry(written));
      assert.deepEqual(
        diagnostics.map((d) => d.code),
        ['nixos-protocol'],
        written,
      );
      assert.match(messageOf(diagnostics[0]!), /The allowed values are/);
      assert.doesNotMatch(messageOf(diagnostics[0]!), /Did you mean/);
      assert.deepEqual(await client.codeActions(uri, diagnostics[0]!.range, diagnostics), []);
    }
  });

  test('"ssh", "ssh-ng" and null are clean; the hover on null says no scheme is written, and the line shows it', async () => {
    for (const written of ['"ssh"', '"ssh-ng"', 'null']) assert.deepEqual((await open(entry(written))).diagnostics, []);
    const text = entry('null');
    const { uri } = await open(text);
    const hover = await client.hover(uri, positionOf(text, 'null'));
    const shown = (hover?.contents as MarkupContent).value;
    assert.match(shown, /`protocol = null`: NixOS writes no scheme/);
    assert.match(shown, /```\nb x86_64-linux - 1 1 - - -\n```/);
    const ng = entry('"ssh-ng"');
    const ngUri = (await open(ng)).uri;
    const ngHover = (await client.hover(ngUri, positionOf(ng, '"ssh-ng"')))?.contents as MarkupContent;
    assert.match(ngHover.value, /`protocol = "ssh-ng"`: the line starts with `ssh-ng:\/\/`/);
  });
});
