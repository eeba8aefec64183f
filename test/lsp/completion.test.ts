// Completion over a real LSP connection, column by column: what a user sees while filling in a
// machines line or the `builders` value of a nix.conf. The server runs with HOME pointing at a
// fake home (ssh config with an Include, known_hosts, keys), so the offers are predictable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after as afterAll, before, describe, test } from 'node:test';
import { InsertTextFormat, type CompletionItem, type TextEdit } from 'vscode-languageserver-protocol';
import { hostKeyColumnFor } from '../../server/src/model/hostKey';
import { applyEdits, positionAt } from './helpers/edits';
import { makeFakeHome, type FakeHome } from './helpers/fakeHome';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let fake: FakeHome;
let dir: string;
let fileCount = 0;

before(async () => {
  fake = makeFakeHome();
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-completion-'));
  client = await LspClient.start({ env: { ...process.env, HOME: fake.home } });
  client.settings = { nixVersion: '2.8' };
  // Another open file: its systems and features count as "used in the workspace".
  const other = await client.open(
    join(dir, 'other.machines'),
    'nix-machines',
    'ssh://farm riscv64-linux - 2 1 gccarch-znver3\n',
  );
  await client.diagnostics(other);
});

afterAll(async () => {
  await client.stop();
  fake.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** Completion at the `|` of `text` (the `|` is not part of the text). */
async function complete(
  text: string,
  languageId: 'nix-machines' | 'nix-conf' = 'nix-machines',
): Promise<{ items: CompletionItem[]; text: string }> {
  const offset = text.indexOf('|');
  const clean = text.slice(0, offset) + text.slice(offset + 1);
  const uri = await client.open(
    join(dir, languageId === 'nix-conf' ? `${fileCount++}/nix.conf` : `c${fileCount++}.machines`),
    languageId,
    clean,
  );
  const items = await client.completion(uri, positionAt(clean, offset));
  return { items, text: clean };
}
const labels = (items: CompletionItem[]) => items.map((i) => i.label);
const sorted = (items: CompletionItem[]) =>
  [...items].sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label));
/** The text after accepting `label`. */
function accept(text: string, items: CompletionItem[], label: string): string {
  const item = items.find((i) => i.label === label);
  assert.ok(item, `no '${label}' among ${JSON.stringify(labels(items))}`);
  return applyEdits(text, [item.textEdit as TextEdit]);
}

describe('column 1: the store URI', () => {
  test('an empty line offers the schemes, ssh config Host aliases (Includes too, no patterns), known_hosts hosts (not hashed) and a whole machine line', async () => {
    const { items } = await complete('|');
    const all = labels(items);
    for (const expected of [
      'ssh://',
      'ssh-ng://',
      'mac-mini',
      'team-builder',
      'pi.local',
      '192.168.1.20',
      'machine line',
    ]) {
      assert.ok(all.includes(expected), `${expected} missing from ${JSON.stringify(all)}`);
    }
    assert.ok(!all.some((l) => l.includes('*') || l.startsWith('|') || l.includes('secret')), JSON.stringify(all));
    // A port in the URI does not reach ssh before Nix 2.31: no `odd.example:2222` on 2.8.
    assert.ok(!all.some((l) => l.includes('odd.example')), JSON.stringify(all));
    const snippet = items.find((i) => i.label === 'machine line')!;
    assert.equal(snippet.insertTextFormat, InsertTextFormat.Snippet);
    assert.match(
      (snippet.textEdit as TextEdit).newText,
      /^\$\{1\|ssh:\/\/,ssh-ng:\/\/\|\}\$\{2:user@host\} \$\{3\|x86_64-linux,/,
    );
  });

  test('a host keeps the scheme and user already typed', async () => {
    const { items, text } = await complete('ssh-ng://nix@ma|');
    assert.equal(accept(text, items, 'mac-mini'), 'ssh-ng://nix@mac-mini');
    const bare = await complete('team|');
    assert.equal(accept(bare.text, bare.items, 'team-builder'), 'ssh://team-builder');
  });

  test('from Nix 2.31 a known_hosts host on another port is offered with its port', async () => {
    client.settings = { nixVersion: '2.31' };
    await client.changeSettings({ nixVersion: '2.31' });
    const { items } = await complete('|');
    assert.ok(labels(items).includes('odd.example:2222'), JSON.stringify(labels(items)));
    await client.changeSettings({ nixVersion: '2.8' });
  });
});

describe('the other columns', () => {
  test('systems: the local system first, then common ones, then those used in the workspace', async () => {
    const { items } = await complete('ssh://a |');
    const order = labels(sorted(items));
    assert.equal(order[0], '-');
    assert.equal(order[1], 'x86_64-linux'); // this machine (the tests run on x86_64-linux)
    assert.deepEqual(order.slice(2, 6), ['aarch64-linux', 'aarch64-darwin', 'x86_64-darwin', 'i686-linux']);
    assert.equal(order[6], 'riscv64-linux'); // used in other.machines
    assert.ok(items.length > 50, 'every known system is offered');
  });

  test('systems after a comma: the next item, without those already listed', async () => {
    const { items, text } = await complete('ssh://a x86_64-linux,aarch|');
    assert.ok(!labels(items).includes('x86_64-linux'));
    assert.equal(accept(text, items, 'aarch64-darwin'), 'ssh://a x86_64-linux,aarch64-darwin');
  });

  test('SSH key: `-`, the private keys in ~/.ssh (with a .pub or a key header), and paths', async () => {
    const { items } = await complete('ssh://a x86_64-linux |');
    const keys = labels(items);
    assert.deepEqual(keys, ['-', join(fake.home, '.ssh/deploy_key'), join(fake.home, '.ssh/id_builder')]);
  });

  test("SSH key, a typed path: its directory's subdirectories and private keys, never a .pub or a file that is no key", async () => {
    const typed = await complete(`ssh://a x86_64-linux ${fake.home}/.ssh/|`);
    assert.deepEqual(
      labels(typed.items)
        .filter((l) => l.startsWith(fake.home))
        .sort(),
      [join(fake.home, '.ssh/config.d/'), join(fake.home, '.ssh/deploy_key'), join(fake.home, '.ssh/id_builder')],
    );
    const tilde = await complete('ssh://a x86_64-linux ~/.ssh/id_|');
    assert.deepEqual(
      labels(tilde.items).filter((l) => l.startsWith('~')),
      ['~/.ssh/config.d/', '~/.ssh/deploy_key', '~/.ssh/id_builder'],
    );
  });

  test('maxJobs and speedFactor: `-` and typical values with a note; fractions only where Nix reads them', async () => {
    const jobs = await complete('ssh://a x86_64-linux - |');
    assert.deepEqual(labels(jobs.items).slice(0, 4), ['-', '1', '2', '4']);
    assert.match(jobs.items[0]!.detail!, /default: 1/);
    assert.match(jobs.items[1]!.detail!, /one build at a time/);
    const speed = await complete('ssh://a x86_64-linux - 4 |');
    assert.ok(!labels(speed.items).includes('1.5'));
    client.settings = { nixVersion: '2.24' };
    await client.changeSettings({ nixVersion: '2.24' });
    const newer = await complete('ssh://a x86_64-linux - 4 |');
    assert.ok(labels(newer.items).includes('1.5'));
    await client.changeSettings({ nixVersion: '2.8' });
  });

  test('features: the well-known ones and those used in the workspace, in both feature columns', async () => {
    for (const prefix of ['ssh://a x86_64-linux - 4 1 ', 'ssh://a x86_64-linux - 4 1 kvm ']) {
      const { items } = await complete(`${prefix}|`);
      const all = labels(items);
      for (const f of [
        '-',
        'kvm',
        'big-parallel',
        'nixos-test',
        'benchmark',
        'apple-virt',
        'ca-derivations',
        'recursive-nix',
        'uid-range',
        'gccarch-znver3',
      ]) {
        assert.ok(all.includes(f), `${f} missing from ${JSON.stringify(all)}`);
      }
    }
    const { items, text } = await complete('ssh://a x86_64-linux - 4 1 kvm,big|');
    assert.equal(accept(text, items, 'big-parallel'), 'ssh://a x86_64-linux - 4 1 kvm,big-parallel');
  });

  test('host key: `-` and the known_hosts key of the host, as base64 of its key line', async () => {
    const strip = (line: string) => line.split(' ').slice(0, 2).join(' ');
    const pi = await complete('ssh://pi.local x86_64-linux - 4 1 - - |');
    assert.deepEqual(
      pi.items.map((i) => (i.textEdit as TextEdit).newText),
      ['-', hostKeyColumnFor(strip(fake.keys.pi))],
    );
    // An ssh config alias is looked up under its HostName; a hashed entry is found by its name.
    const mac = await complete('ssh://nix@mac-mini x86_64-linux - 4 1 - - |');
    assert.deepEqual(
      mac.items.map((i) => (i.textEdit as TextEdit).newText),
      ['-', hostKeyColumnFor(strip(fake.keys.mac))],
    );
    const secret = await complete('secret.example - - - - - - |');
    assert.deepEqual(
      secret.items.map((i) => (i.textEdit as TextEdit).newText),
      ['-', hostKeyColumnFor(strip(fake.keys.secret))],
    );
    assert.match(secret.items[1]!.label, /^ssh-ed25519 SHA256:/);
  });

  test('host key: the known_hosts file the configured ssh config names (UserKnownHostsFile) is read too', async () => {
    const strip = (line: string) => line.split(' ').slice(0, 2).join(' ');
    const own = mkdtempSync(join(dir, 'ssh-'));
    writeFileSync(join(own, 'known_hosts'), `10.9.8.7 ${strip(fake.keys.secret)}\n`);
    writeFileSync(
      join(own, 'config'),
      `Host lab-builder\n  HostName 10.9.8.7\n  UserKnownHostsFile ${join(own, 'known_hosts')}\n`,
    );
    await client.changeSettings({ nixVersion: '2.8', sshConfigFile: join(own, 'config') });
    try {
      const { items } = await complete('ssh://lab-builder x86_64-linux - 4 1 - - |');
      assert.deepEqual(
        items.map((i) => (i.textEdit as TextEdit).newText),
        ['-', hostKeyColumnFor(strip(fake.keys.secret))],
      );
      assert.match(
        String((items[1]!.documentation as { value: string }).value),
        new RegExp(`From ${join(own, 'known_hosts')}`),
      );
    } finally {
      await client.changeSettings({ nixVersion: '2.8' });
    }
  });

  test('nothing in comments, nor after the eighth column', async () => {
    assert.deepEqual((await complete('# a comment |')).items, []);
    assert.deepEqual((await complete('ssh://a - - - - - - - |')).items, []);
  });

  test('Nix 2.8 ends a comment at `;`: after it, the next entry gets completions', async () => {
    const { items } = await complete('# comment ; ssh://b |');
    assert.ok(labels(items).includes('x86_64-linux'));
  });
});

describe('nix.conf', () => {
  test('at the start of a line: the remote-build settings with their docs and defaults first', async () => {
    const { items, text } = await complete('buil|', 'nix-conf');
    const first = sorted(items).slice(0, 3);
    assert.deepEqual(labels(first), ['builders', 'builders-use-substitutes', 'max-jobs']);
    assert.match(first[0]!.detail!, /@\/etc\/nix\/machines/);
    assert.match(JSON.stringify(first[1]!.documentation), /Default: `false`/);
    assert.equal(accept(text, items, 'builders'), 'builders = ');
    assert.ok(labels(items).includes('sandbox'), 'other settings follow');
  });

  test('after `builders =`: `@/etc/nix/machines`, a whole machine line, and URIs', async () => {
    const { items, text } = await complete('builders = |', 'nix-conf');
    assert.equal(accept(text, items, '@/etc/nix/machines'), 'builders = @/etc/nix/machines');
    assert.ok(labels(items).includes('machine line'));
    assert.ok(labels(items).includes('mac-mini'));
  });

  test('Nix 2.8 reads `; @file` as a host: the include replaces the space so that `@` follows the `;`', async () => {
    const { items, text } = await complete('builders = ssh://a ; |', 'nix-conf');
    assert.equal(accept(text, items, '@/etc/nix/machines'), 'builders = ssh://a ;@/etc/nix/machines');
  });

  test('inside the builders value, each column completes as in a machines file', async () => {
    const { items } = await complete('builders = ssh://a |  ; ssh://b', 'nix-conf');
    assert.ok(labels(items).includes('aarch64-linux'));
    const features = await complete('builders = ssh://a x86_64-linux - 2 1 ni|', 'nix-conf');
    assert.ok(labels(features.items).includes('nixos-test'));
  });

  test("the positions are the document's: a value token after many spaces is replaced where it is", async () => {
    const { items, text } = await complete('builders =     ssh://a     x86_64-linux,aar|', 'nix-conf');
    assert.equal(accept(text, items, 'aarch64-linux'), 'builders =     ssh://a     x86_64-linux,aarch64-linux');
  });
});
