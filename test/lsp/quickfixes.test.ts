// Quick fixes over a real LSP connection: for each diagnostic that has one, applying the fix's
// edit gives the expected text (and the diagnostic goes away when the server checks it again).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { CodeAction, Diagnostic } from 'vscode-languageserver-protocol';
import { newMachinesFileText } from '../../server/src/language/codeActions';
import { applyWorkspaceEdit } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let dir: string;
let count = 0;

before(async () => {
  client = await LspClient.start();
  client.settings = { nixVersion: '2.8' };
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-fixes-'));
});
after(async () => {
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Fixed {
  text: string;
  action: CodeAction;
  uri: string;
  diagnostics: Diagnostic[];
}

/**
 * Opens `text`, waits for the diagnostic `code`, asks for code actions on it and applies the one
 * whose title matches; returns the document's text after the edit.
 */
async function applyFix(
  text: string,
  code: string,
  title: RegExp,
  languageId: 'nix-machines' | 'nix-conf' = 'nix-machines',
): Promise<Fixed> {
  const path =
    languageId === 'nix-conf' ? join(mkdtempSync(join(dir, 'conf-')), 'nix.conf') : join(dir, `f${count++}.machines`);
  const uri = await client.open(path, languageId, text);
  const diagnostics = await client.diagnostics(uri);
  const diagnostic = diagnostics.find((d) => d.code === code);
  assert.ok(diagnostic, `no ${code} in ${JSON.stringify(diagnostics)}`);
  const actions = await client.codeActions(uri, diagnostic.range, [diagnostic]);
  const action = actions.find((a) => title.test(a.title));
  assert.ok(action?.edit, `no fix matching ${title} among ${JSON.stringify(actions.map((a) => a.title))}`);
  assert.equal(action.kind, 'quickfix');
  assert.deepEqual(action.diagnostics, [diagnostic]);
  const texts = applyWorkspaceEdit(action.edit, { [uri]: text });
  return { text: texts[uri]!, action, uri, diagnostics };
}

/** The fixed text has no diagnostic with `code` any more. */
async function assertGone(fixed: Fixed, code: string): Promise<void> {
  const version = await client.change(fixed.uri, fixed.text);
  const after = await client.diagnostics(fixed.uri, (p) => p.version === version);
  assert.equal(
    after.find((d) => d.code === code),
    undefined,
    JSON.stringify(after),
  );
}

describe('quick fixes', () => {
  test('unknown-system: the nearest system', async () => {
    const fixed = await applyFix(
      'ssh://a x86_64-linux,x86-64-linux - 4\n',
      'unknown-system',
      /^Change to x86_64-linux$/,
    );
    // x86-64-linux → x86_64-linux duplicates the first: still what the user meant.
    assert.equal(fixed.text, 'ssh://a x86_64-linux,x86_64-linux - 4\n');
    await assertGone(fixed, 'unknown-system');
  });

  test('host-key-raw: the bare key becomes base64 of the whole key line', async () => {
    const raw = 'AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU';
    const fixed = await applyFix(`ssh://a x86_64-linux - 1 1 - - ${raw}\n`, 'host-key-raw', /^Wrap the key/);
    const column8 = fixed.text.trim().split(' ')[7]!;
    assert.equal(Buffer.from(column8, 'base64').toString(), `ssh-ed25519 ${raw}`);
    await assertGone(fixed, 'host-key-raw');
  });

  test('max-jobs-zero: maxJobs becomes 1, so Nix gives the machine jobs again', async () => {
    const fixed = await applyFix(
      'ssh://a x86_64-linux - 0 2 kvm\n',
      'max-jobs-zero',
      /^Set maxJobs to 1 \(one build at a time\)$/,
    );
    assert.equal(fixed.text, 'ssh://a x86_64-linux - 1 2 kvm\n');
    await assertGone(fixed, 'max-jobs-zero');
  });

  test('host-key-with-host: a known_hosts line (as ssh-keyscan prints it) becomes the key line alone; no pin offered, a key is on record', async () => {
    const raw = 'AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU';
    const scanned = Buffer.from(`builder.lab ssh-ed25519 ${raw}\n`).toString('base64');
    const fixed = await applyFix(
      `ssh://builder.lab x86_64-linux - 1 1 - - ${scanned}\n`,
      'host-key-with-host',
      /^Keep only the key line/,
    );
    assert.equal(Buffer.from(fixed.text.trim().split(' ')[7]!, 'base64').toString(), `ssh-ed25519 ${raw}`);
    const all = await client.codeActions(
      fixed.uri,
      { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
      fixed.diagnostics,
    );
    assert.ok(!all.some((a) => a.title.startsWith('Pin the host key')), JSON.stringify(all.map((a) => a.title)));
    await assertGone(fixed, 'host-key-with-host');
  });

  test('extra-columns: the columns after the eighth go, with the space before them', async () => {
    const fixed = await applyFix(
      'ssh://a x86_64-linux - 1 1 - - -   ninth tenth # note\n',
      'extra-columns',
      /^Remove the columns/,
    );
    assert.equal(fixed.text, 'ssh://a x86_64-linux - 1 1 - - - # note\n');
    await assertGone(fixed, 'extra-columns');
  });

  test('speed-factor-invalid on Nix 2.8: a fraction is rounded to a whole number', async () => {
    const fixed = await applyFix(
      'ssh://a x86_64-linux - 4 2.6\n',
      'speed-factor-invalid',
      /^Round speedFactor to 3 \(Nix 2\.8\.0 reads whole numbers only\)$/,
    );
    assert.equal(fixed.text, 'ssh://a x86_64-linux - 4 3\n');
    await assertGone(fixed, 'speed-factor-invalid');
    const small = await applyFix('ssh://a x86_64-linux - 4 0.4\n', 'speed-factor-invalid', /^Round speedFactor to 1/);
    assert.equal(small.text, 'ssh://a x86_64-linux - 4 1\n');
  });

  test('speed-factor-invalid on Nix 2.24: a negative speedFactor becomes 1; a fraction needs no fix', async () => {
    await client.changeSettings({ nixVersion: '2.24' });
    try {
      const fixed = await applyFix('ssh://a x86_64-linux - 4 -2\n', 'speed-factor-invalid', /^Use speedFactor 1$/);
      assert.equal(fixed.text, 'ssh://a x86_64-linux - 4 1\n');
      await assertGone(fixed, 'speed-factor-invalid');
    } finally {
      await client.changeSettings({ nixVersion: '2.8' });
    }
  });

  test('include-missing: the file is created (with a header), and then included', async () => {
    const missing = join(dir, 'team-machines');
    const uri = await client.open(join(dir, `f${count++}.machines`), 'nix-machines', `@${missing}\n`);
    const diagnostic = (await client.diagnostics(uri)).find((d) => d.code === 'include-missing');
    assert.ok(diagnostic);
    const action = (await client.codeActions(uri, diagnostic.range, [diagnostic])).find(
      (a) => a.title === `Create ${missing}`,
    );
    assert.ok(action?.edit);
    const texts = applyWorkspaceEdit(action.edit, {});
    assert.equal(texts[pathToFileURL(missing).toString()], newMachinesFileText);
    assert.equal(existsSync(missing), true);
    writeFileSync(missing, texts[pathToFileURL(missing).toString()]!);
    await assertGone({ text: `@${missing}\n`, action, uri, diagnostics: [] }, 'include-missing');
  });

  test('unknown-feature: the nearest well-known feature', async () => {
    const fixed = await applyFix(
      'ssh://a x86_64-linux - 4 1 kvm,big_parallel\n',
      'unknown-feature',
      /^Change to big-parallel$/,
    );
    assert.equal(fixed.text, 'ssh://a x86_64-linux - 4 1 kvm,big-parallel\n');
    await assertGone(fixed, 'unknown-feature');
  });

  test('store-uri-unusable: a misspelt scheme becomes ssh://', async () => {
    const fixed = await applyFix('shh://a x86_64-linux\n', 'store-uri-unusable', /^Change to ssh:\/\/a$/);
    assert.equal(fixed.text, 'ssh://a x86_64-linux\n');
    await assertGone(fixed, 'store-uri-unusable');
  });

  test('unknown-setting (nix.conf): the nearest setting name', async () => {
    const fixed = await applyFix(
      'buidlers = ssh://a x86_64-linux\n',
      'unknown-setting',
      /^Change to builders$/,
      'nix-conf',
    );
    assert.equal(fixed.text, 'builders = ssh://a x86_64-linux\n');
    await assertGone(fixed, 'unknown-setting');
  });

  test('nix.conf builders value: the fix edits the column inside the line', async () => {
    const fixed = await applyFix(
      'builders =   ssh://a   x86-64-linux ; ssh://b\n',
      'unknown-system',
      /^Change to x86_64-linux$/,
      'nix-conf',
    );
    assert.equal(fixed.text, 'builders =   ssh://a   x86_64-linux ; ssh://b\n');
  });

  test('a problem in an included file is fixed in that file', async () => {
    const included = join(dir, 'included-typo');
    writeFileSync(included, 'ssh://ok x86_64-linux\nssh://typo x86-64-linux\n');
    const confDir = mkdtempSync(join(dir, 'conf-'));
    const uri = await client.open(join(confDir, 'nix.conf'), 'nix-conf', `builders = @${included}\n`);
    const diagnostic = (await client.diagnostics(uri)).find((d) => d.code === 'unknown-system');
    assert.ok(diagnostic);
    const action = (await client.codeActions(uri, diagnostic.range, [diagnostic])).find(
      (a) => a.title === 'Change to x86_64-linux',
    );
    assert.ok(action?.edit);
    const includedUri = pathToFileURL(included).toString();
    assert.deepEqual(Object.keys(action.edit.changes ?? {}), [includedUri]);
    assert.equal(applyWorkspaceEdit(action.edit, {})[includedUri], 'ssh://ok x86_64-linux\nssh://typo x86_64-linux\n');
    assert.equal(
      readFileSync(included, 'utf8'),
      'ssh://ok x86_64-linux\nssh://typo x86-64-linux\n',
      'the test applies edits in memory',
    );
  });
});
