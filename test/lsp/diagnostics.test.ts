// What any editor sees from the language server over a real LSP connection: diagnostics at the
// right place, with the severity contract (Error exactly when the targeted Nix rejects the text),
// and symbols that count the machines Nix reads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver-protocol';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let dir: string;

before(async () => {
  client = await LspClient.start();
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-lsp-'));
});

after(async () => {
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
});

const byCode = (diagnostics: Diagnostic[], code: string) => diagnostics.find((d) => d.code === code);
const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);

describe('machines files', () => {
  test('a maxJobs that is not a number is an Error on that column, quoting Nix', async () => {
    client.settings = { nixVersion: '2.8' };
    const uri = await client.open(
      join(dir, 'a.machines'),
      'nix-machines',
      'ssh://good x86_64-linux - 4\nssh://bad x86_64-linux - four 1\n',
    );
    const diagnostics = await client.diagnostics(uri);
    const error = byCode(diagnostics, 'max-jobs-not-integer');
    assert.ok(error, JSON.stringify(diagnostics));
    assert.equal(error.severity, DiagnosticSeverity.Error);
    assert.deepEqual(error.range, { start: { line: 1, character: 25 }, end: { line: 1, character: 29 } });
    assert.match(messageOf(error), /failed to convert column #3/);
    assert.equal(error.source, 'nix-builders');
  });

  test('a system nobody builds for is a Warning that names the nearest one', async () => {
    client.settings = { nixVersion: '2.8' };
    const uri = await client.open(join(dir, 'b.machines'), 'nix-machines', 'ssh://builder x86-64-linux\n');
    const diagnostics = await client.diagnostics(uri);
    const warning = byCode(diagnostics, 'unknown-system');
    assert.ok(warning, JSON.stringify(diagnostics));
    assert.equal(warning.severity, DiagnosticSeverity.Warning);
    assert.deepEqual(warning.range, { start: { line: 0, character: 14 }, end: { line: 0, character: 26 } });
    assert.match(messageOf(warning), /x86_64-linux/);
  });

  test('a clean file gets an empty diagnostics list', async () => {
    const uri = await client.open(
      join(dir, 'clean.machines'),
      'nix-machines',
      '# builders\nssh://builder x86_64-linux - 4 2 big-parallel\n',
    );
    assert.deepEqual(await client.diagnostics(uri), []);
  });

  test('an edit replaces the diagnostics: fixing the error clears it', async () => {
    client.settings = { nixVersion: '2.8' };
    const uri = await client.open(join(dir, 'c.machines'), 'nix-machines', 'ssh://a x86_64-linux - x\n');
    assert.ok(byCode(await client.diagnostics(uri), 'max-jobs-not-integer'));
    await client.change(uri, 'ssh://a x86_64-linux - 2\n');
    assert.deepEqual(await client.diagnostics(uri), []);
  });

  test('speedFactor 1.5 is an Error for Nix 2.8 and accepted for Nix 2.24 (the setting decides)', async () => {
    client.settings = { nixVersion: '2.8' };
    const uri = await client.open(join(dir, 'd.machines'), 'nix-machines', 'ssh://a x86_64-linux - 1 1.5\n');
    const old = byCode(await client.diagnostics(uri), 'speed-factor-invalid');
    assert.equal(old?.severity, DiagnosticSeverity.Error);
    await client.changeSettings({ nixVersion: '2.24' });
    const version = await client.change(uri, 'ssh://a x86_64-linux - 1 1.5\n');
    const newer = await client.diagnostics(uri, (p) => p.version === version);
    assert.equal(byCode(newer, 'speed-factor-invalid'), undefined, JSON.stringify(newer));
    client.settings = { nixVersion: '2.8' };
    await client.changeSettings({ nixVersion: '2.8' });
  });

  test('symbols: one per machine, named by host, with the systems as detail', async () => {
    const uri = await client.open(
      join(dir, 'e.machines'),
      'nix-machines',
      'ssh://nix@one x86_64-linux,i686-linux\n# two:\nssh-ng://two aarch64-linux ; three\n',
    );
    await client.diagnostics(uri);
    const symbols = await client.symbols(uri);
    assert.deepEqual(
      symbols.map((s) => [s.name, s.detail]),
      [
        ['nix@one', 'x86_64-linux, i686-linux'],
        ['two', 'aarch64-linux'],
        ['three', symbols[2]?.detail],
      ],
    );
  });

  test('the server survives any text: binary junk still gets diagnostics, and the server answers after', async () => {
    const junk = Array.from({ length: 2000 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join('');
    const uri = await client.open(join(dir, 'junk.machines'), 'nix-machines', junk);
    const diagnostics = await client.diagnostics(uri);
    assert.ok(Array.isArray(diagnostics));
    const clean = await client.open(join(dir, 'after-junk.machines'), 'nix-machines', 'ssh://a x86_64-linux\n');
    assert.deepEqual(await client.diagnostics(clean), []);
  });
});

describe('nix.conf', () => {
  test('an error in the builders value is on the column in nix.conf', async () => {
    client.settings = { nixVersion: '2.8' };
    const text = 'max-jobs = 0\nbuilders = ssh://a x86_64-linux - many\n';
    const uri = await client.open(join(dir, 'nix.conf'), 'nix-conf', text);
    const error = byCode(await client.diagnostics(uri), 'max-jobs-not-integer');
    assert.ok(error);
    assert.deepEqual(error.range, { start: { line: 1, character: 34 }, end: { line: 1, character: 38 } });
  });

  test('a machines file included by nix.conf gets its own diagnostics, though it is not open', async () => {
    client.settings = { nixVersion: '2.8' };
    const machines = join(dir, 'included-machines');
    writeFileSync(machines, 'ssh://ok x86_64-linux\nssh://typo x86-64-linux\n');
    const confDir = mkdtempSync(join(dir, 'conf-'));
    const uri = await client.open(join(confDir, 'nix.conf'), 'nix-conf', `builders = @${machines}\n`);
    await client.diagnostics(uri);
    const included = await client.diagnostics(pathToFileURL(machines).toString());
    const warning = byCode(included, 'unknown-system');
    assert.ok(warning, JSON.stringify(included));
    assert.equal(warning.range.start.line, 1);
  });

  test("closing the nix.conf clears the included file's diagnostics", async () => {
    const machines = join(dir, 'included-2');
    writeFileSync(machines, 'ssh://typo x86-64-linux\n');
    const confDir = mkdtempSync(join(dir, 'conf-'));
    const uri = await client.open(join(confDir, 'nix.conf'), 'nix-conf', `builders = @${machines}\n`);
    const includedUri = pathToFileURL(machines).toString();
    await client.diagnostics(includedUri, (p) => p.diagnostics.length > 0);
    const before = client.publishes(includedUri).length;
    await client.close(uri);
    await client.diagnostics(
      includedUri,
      (p) => p.diagnostics.length === 0 && client.publishes(includedUri).indexOf(p) >= before,
    );
  });
});
