// The nix.dev tutorial "Setting up distributed builds" (../shared/seeds) has its reader generate
// the key with `ssh-keygen -f /root/.ssh/remotebuild`, then write into nix.conf a builders line
// that names `/root/.ssh/remotemachine`: a key that was never made. Nix only says so when a build
// is sent there (ssh: "Permission denied (publickey)" after "Warning: Identity file … not
// accessible"). The user should see it on the key's column as they write the line, with the key
// they did make offered as the fix. The line is the tutorial's, its `$(nix-instantiate --eval -E
// builtins.currentSystem)` as the shell's heredoc expands it; the key is made by real ssh-keygen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TextEdit } from 'vscode-languageserver-protocol';
import { applyEdits } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

const seed = readFileSync(join(__dirname, '../fixtures/seeds/nixdev-builders-line.txt'), 'utf8');

let home: string;
let client: LspClient;
before(async () => {
  home = mkdtempSync(join(tmpdir(), 'nix-builders-seed-nixdev-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  // The tutorial's own step: `ssh-keygen -f /root/.ssh/remotebuild` (here in this test's home).
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'remotebuild')]);
  client = await LspClient.start({ env: { ...process.env, HOME: home } });
  client.settings = { nixVersion: '2.8' };
});
after(async () => {
  await client.stop();
  rmSync(home, { recursive: true, force: true });
});

test("the tutorial's builders line names /root/.ssh/remotemachine, a key it never made: said on that column, the key it made is the fix", async () => {
  const written = /^builders = (ssh-ng:\/\/remotebuild@remotebuilder) \$\(nix-instantiate[^)]*\) (\S+) (.*)$/m.exec(
    seed,
  );
  assert.ok(written, 'the seed still has its builders line');
  assert.equal(written[2], '/root/.ssh/remotemachine');
  const text = `builders = ${written[1]} x86_64-linux ${written[2]} ${written[3]}\nbuilders-use-substitutes = true\n`;
  const uri = await client.open(join(home, 'nix.conf'), 'nix-conf', text);
  const diagnostics = await client.diagnostics(uri);
  const missing = diagnostics.find((d) => d.code === 'ssh-key-missing');
  assert.ok(missing, JSON.stringify(diagnostics));
  const column = text.indexOf('/root/.ssh/remotemachine');
  assert.deepEqual(missing.range, {
    start: { line: 0, character: column },
    end: { line: 0, character: column + '/root/.ssh/remotemachine'.length },
  });
  assert.match(missing.message as string, /\/root\/\.ssh\/remotemachine/);
  const actions = await client.codeActions(uri, missing.range, [missing]);
  const made = join(home, '.ssh', 'remotebuild');
  const useIt = actions.find((a) => a.title === `Use the key ${made}`);
  assert.ok(useIt, JSON.stringify(actions.map((a) => a.title)));
  const edits = Object.values(useIt.edit?.changes ?? {})[0] as TextEdit[];
  const fixed = applyEdits(text, edits);
  assert.ok(
    fixed.startsWith(`builders = ssh-ng://remotebuild@remotebuilder x86_64-linux ${made} - - nixos-test`),
    fixed,
  );
  // With the key it made, nothing is left to say about the key.
  await client.change(uri, fixed);
  const after = await client.diagnostics(uri);
  assert.equal(after.filter((d) => /^ssh-key/.test(String(d.code))).length, 0, JSON.stringify(after));
});
