// The server reads the SSH keys and `@file`s a machines file points at once, not per keystroke,
// and sees them change on disk by itself (context/watchedFiles.ts): through a real LSP
// connection, a key that appears in a directory nobody told the server about changes the
// published diagnostics with no notification from the client.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let root: string;
before(async () => {
  client = await LspClient.start();
  client.settings = { nixVersion: '2.26.3' };
  root = mkdtempSync(join(tmpdir(), 'nix-builders-watched-'));
});
after(async () => {
  await client.stop();
  rmSync(root, { recursive: true, force: true });
});

const codes = (diagnostics: { code?: string | number }[]) => diagnostics.map((d) => d.code);

test('a key file written on disk changes the diagnostics of the open machines file, unasked', async () => {
  const key = join(root, 'builder-key');
  const text = `ssh://a x86_64-linux ${key}\nssh://b x86_64-linux ${key}\n`;
  const uri = await client.open(join(root, 'machines'), 'nix-machines', text);
  assert.deepEqual(codes(await client.diagnostics(uri)), ['ssh-key-missing', 'ssh-key-missing']);
  for (let i = 0; i < 20; i++) {
    const version = await client.change(uri, `# edit ${i}\n${text}`);
    assert.deepEqual(codes(await client.diagnostics(uri, (p) => p.version === version)), [
      'ssh-key-missing',
      'ssh-key-missing',
    ]);
  }
  const published = client.publishes(uri).length;
  writeFileSync(key, 'not a key\n', { mode: 0o600 });
  await client.diagnostics(uri, (p) => client.publishes(uri).indexOf(p) >= published);
  assert.deepEqual(codes(client.publishes(uri).at(-1)!.diagnostics), ['ssh-key-not-private', 'ssh-key-not-private']);
});
