// Completion in a `nix.buildMachines` entry of a .nix file, over a real LSP connection: the
// attribute names not set yet, with the module's documentation (`system` or `systems`, never
// both), and the values the machines file offers in the same column: systems, features, Host
// aliases and known_hosts hosts, the keys in ~/.ssh, protocols, the ssh config's user. The
// server runs with HOME pointing at a fake home (helpers/fakeHome.ts), so the offers are known.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CompletionItem, MarkupContent, TextEdit } from 'vscode-languageserver-protocol';
import { hostKeyColumnFor } from '../../server/src/model/hostKey';
import { applyEdits, positionAt } from './helpers/edits';
import { makeFakeHome, type FakeHome } from './helpers/fakeHome';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let plain: LspClient;
let fake: FakeHome;
let dir: string;
let count = 0;

/** A server with HOME at the fake home, for a client that takes snippets or not. */
async function started(snippetSupport: boolean): Promise<LspClient> {
  const dynamic = { dynamicRegistration: true };
  const started = await LspClient.start({
    env: { ...process.env, HOME: fake.home },
    capabilities: {
      textDocument: { synchronization: dynamic, completion: { ...dynamic, completionItem: { snippetSupport } } },
    },
  });
  started.settings = { nixVersion: '2.8' };
  return started;
}

before(async () => {
  fake = makeFakeHome();
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-nixcomplete-'));
  client = await started(true);
  // A client without snippets gets plain `name = `.
  plain = await started(false);
});

after(async () => {
  await Promise.all([client.stop(), plain.stop()]);
  fake.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** Completion at the `|` of `text` (the `|` is not part of the text). */
async function complete(marked: string, on = client): Promise<{ items: CompletionItem[]; text: string }> {
  const offset = marked.indexOf('|');
  const text = marked.slice(0, offset) + marked.slice(offset + 1);
  const uri = await on.open(join(dir, `configuration-${count++}.nix`), 'nix', text);
  return { items: await on.completion(uri, positionAt(text, offset)), text };
}
const labels = (items: CompletionItem[]) => items.map((i) => i.label);
/** The text after accepting `label`. */
function accept(text: string, items: CompletionItem[], label: string): string {
  const item = items.find((i) => i.label === label);
  assert.ok(item, `no '${label}' among ${JSON.stringify(labels(items))}`);
  return applyEdits(text, [item.textEdit as TextEdit]);
}
const docOf = (items: CompletionItem[], label: string) =>
  (items.find((i) => i.label === label)?.documentation as MarkupContent | undefined)?.value ?? '';

const entry = (inside: string) =>
  `{\n  nix.distributedBuilds = true;\n  nix.buildMachines = [\n    { ${inside} }\n  ];\n}\n`;

test('the server registers completion for nix documents itself', () => {
  const completion = client.registrations.find(
    (r) => r.method === 'textDocument/completion' && JSON.stringify(r.registerOptions).includes('"language":"nix"'),
  );
  assert.ok(completion, JSON.stringify(client.registrations.map((r) => r.method)));
});

describe('attribute names', () => {
  test('the names not set yet, each with the module’s documentation and type', async () => {
    const { items } = await complete(entry('hostName = "b"; maxJobs = 2; |'));
    assert.deepEqual(labels(items).sort(), [
      'mandatoryFeatures',
      'protocol',
      'publicHostKey',
      'speedFactor',
      'sshKey',
      'sshUser',
      'supportedFeatures',
      'system',
      'systems',
    ]);
    const system = docOf(items, 'system');
    assert.match(system, /\*\*system\*\* · null or string · default `null`/);
    assert.match(system, /Either this attribute or `systems` must be present, where `system` takes precedence/);
    assert.match(system, /In the machines line: Column 2/);
    assert.match(docOf(items, 'systems'), /used only when `system` is null/);
    assert.match(docOf(items, 'sshKey'), /must not have a passphrase/);
  });

  test('with `system` set, neither `system` nor `systems` is offered (and the other way round)', async () => {
    for (const set of ['system = "x86_64-linux";', 'systems = [ "x86_64-linux" ];']) {
      const { items } = await complete(entry(`hostName = "b"; ${set} |`));
      assert.ok(!labels(items).some((l) => l === 'system' || l === 'systems'), `${set}: ${labels(items)}`);
    }
  });

  test('a name being typed is replaced: a snippet with the value’s quotes, or plain `name = `', async () => {
    const typed = entry('hostName = "b"; sy|');
    const { items, text } = await complete(typed);
    const system = items.find((i) => i.label === 'system');
    assert.equal((system?.textEdit as TextEdit).newText, 'system = "$1";');
    assert.equal(system?.command?.command, 'editor.action.triggerSuggest', 'the values follow');
    assert.equal((items.find((i) => i.label === 'systems')?.textEdit as TextEdit).newText, 'systems = [ "$1" ];');
    assert.equal((items.find((i) => i.label === 'maxJobs')?.textEdit as TextEdit).newText, 'maxJobs = ${1:1};');
    const { items: plainItems } = await complete(typed, plain);
    assert.equal(accept(text, plainItems, 'system'), entry('hostName = "b"; system = '));
  });

  test('before an `=` only the name is replaced; the name under the cursor does not count as set', async () => {
    const { items, text } = await complete(entry('host|N = "b";'));
    assert.equal(accept(text, items, 'hostName'), entry('hostName = "b";'));
  });

  test('in the entry a `map` function makes, a let-bound mkBuilder, and a let-bound list the option names, the names are offered too', async () => {
    const mapped = await complete('{ nix.buildMachines = map (h: { hostName = h; | }) [ "a" "b" ]; }\n');
    assert.ok(labels(mapped.items).includes('system') && !labels(mapped.items).includes('hostName'));
    const bound = await complete(
      'let mkBuilder = h: { hostName = h; ssh| }; hosts = [ "a" ]; in { nix.buildMachines = builtins.map mkBuilder hosts; }\n',
    );
    assert.ok(labels(bound.items).includes('sshKey'), JSON.stringify(labels(bound.items)));
    const list = await complete('let builders = [ { hostName = "a"; | } ]; in { nix.buildMachines = builders; }\n');
    assert.ok(labels(list.items).includes('system') && !labels(list.items).includes('hostName'));
  });

  test('between the entries of the list, a whole entry; not in the list of hosts a map runs over', async () => {
    const { items } = await complete('{\n  nix.buildMachines = [\n    |\n  ];\n}\n');
    assert.deepEqual(labels(items), ['builder entry']);
    assert.match((items[0]!.textEdit as TextEdit).newText, /^\{\n  hostName = "\$1";\n  system = "\$\{2\|[\w-]+,/);
    const after = await complete(
      '{ nix.buildMachines = [ { hostName = "a"; system = "x86_64-linux"; } | ]; }\n',
      plain,
    );
    assert.match(
      accept(after.text, after.items, 'builder entry'),
      /^\{ nix\.buildMachines = \[ \{ hostName = "a"; system = "x86_64-linux"; \} \{ hostName = ""; system = "[\w-]+"; \} \]; \}\n$/,
    );
    assert.deepEqual((await complete('{ nix.buildMachines = map (h: { hostName = h; }) [ | ]; }\n')).items, []);
  });

  test('nothing outside an entry, in a comment, or in a file that never mentions buildMachines', async () => {
    assert.deepEqual((await complete('{ nix.buildMachines = [ ]; nix.gc.|automatic = true; }\n')).items, []);
    assert.deepEqual((await complete(entry('hostName = "b"; # sys|'))).items, []);
    assert.deepEqual((await complete('{ pkgs, ... }: { environment.systemPackages = [ pkgs.|hello ]; }\n')).items, []);
  });
});

describe('values', () => {
  test('systems inside a string: the characters, this machine first; a list skips what it has', async () => {
    const { items, text } = await complete(entry('hostName = "b"; system = "aarch|";'));
    assert.ok(labels(items).includes('x86_64-linux') && labels(items).includes('riscv64-linux'));
    assert.equal(accept(text, items, 'aarch64-linux'), entry('hostName = "b"; system = "aarch64-linux";'));
    const list = await complete(entry('hostName = "b"; systems = [ "x86_64-linux" "|" ];'));
    assert.ok(!labels(list.items).includes('x86_64-linux'));
    assert.equal(
      accept(list.text, list.items, 'aarch64-linux'),
      entry('hostName = "b"; systems = [ "x86_64-linux" "aarch64-linux" ];'),
    );
  });

  test('bare: a Nix string, in brackets for a list not written yet, and null where the type allows it', async () => {
    const system = await complete(entry('hostName = "b"; system = |'));
    assert.equal(accept(system.text, system.items, 'aarch64-linux'), entry('hostName = "b"; system = "aarch64-linux"'));
    assert.ok(labels(system.items).includes('null'));
    const systems = await complete(entry('hostName = "b"; systems = aa|;'));
    assert.equal(
      accept(systems.text, systems.items, 'aarch64-linux'),
      entry('hostName = "b"; systems = [ "aarch64-linux" ];'),
    );
    assert.ok(!labels(systems.items).includes('null'), 'a list is never null');
    const item = await complete(entry('hostName = "b"; systems = [ "x86_64-linux" | ];'));
    assert.equal(
      accept(item.text, item.items, 'i686-linux'),
      entry('hostName = "b"; systems = [ "x86_64-linux" "i686-linux" ];'),
    );
    assert.deepEqual((await complete(entry('hostName = "b"; system = "x86_64-linux"|;'))).items, [], 'after a value');
  });

  test('features: the well-known ones, as in column 6 of a machines file', async () => {
    const { items, text } = await complete(
      entry('hostName = "b"; system = "x86_64-linux"; supportedFeatures = [ "|" ];'),
    );
    for (const feature of ['kvm', 'big-parallel', 'nixos-test', 'benchmark'])
      assert.ok(labels(items).includes(feature), feature);
    assert.equal(
      accept(text, items, 'kvm'),
      entry('hostName = "b"; system = "x86_64-linux"; supportedFeatures = [ "kvm" ];'),
    );
    const mandatory = await complete(entry('hostName = "b"; mandatoryFeatures = |'));
    assert.equal(
      accept(mandatory.text, mandatory.items, 'big-parallel'),
      entry('hostName = "b"; mandatoryFeatures = [ "big-parallel" ]'),
    );
  });

  test('hostName: the ssh config’s Host aliases (Includes too, no patterns) and known_hosts hosts', async () => {
    const { items, text } = await complete(entry('hostName = "|";'));
    for (const host of ['mac-mini', 'team-builder', 'pi.local', '192.168.1.20'])
      assert.ok(labels(items).includes(host), `${host} in ${JSON.stringify(labels(items))}`);
    assert.ok(!labels(items).some((l) => l.includes('*') || l.startsWith('|') || l.includes('odd.example')));
    assert.match(items.find((i) => i.label === 'mac-mini')?.detail ?? '', /ssh config Host → 192\.168\.1\.20/);
    assert.equal(accept(text, items, 'team-builder'), entry('hostName = "team-builder";'));
  });

  test('sshKey: the private keys in ~/.ssh (not .pub, not notes), and the keys of a typed folder', async () => {
    const { items, text } = await complete(entry('hostName = "b"; sshKey = "|";'));
    const key = join(fake.home, '.ssh', 'id_builder');
    assert.ok(labels(items).includes(key) && labels(items).includes(join(fake.home, '.ssh', 'deploy_key')));
    assert.ok(!labels(items).some((l) => l.endsWith('.pub') || l.endsWith('notes.txt')), JSON.stringify(labels(items)));
    assert.equal(accept(text, items, key), entry(`hostName = "b"; sshKey = "${key}";`));
    const typed = await complete(entry(`hostName = "b"; sshKey = "${fake.home}/.ssh/|";`));
    assert.ok(labels(typed.items).includes(join(fake.home, '.ssh', 'config.d/')), JSON.stringify(labels(typed.items)));
    assert.ok(!labels(typed.items).some((l) => l.endsWith('known_hosts') || l.endsWith('.pub')));
  });

  test('protocol: "ssh", "ssh-ng" and null; sshUser: the ssh config’s User of the entry’s host', async () => {
    const { items, text } = await complete(entry('hostName = "b"; protocol = |'));
    assert.deepEqual(labels(items), ['ssh', 'ssh-ng', 'null']);
    assert.equal(accept(text, items, 'ssh-ng'), entry('hostName = "b"; protocol = "ssh-ng"'));
    const user = await complete(entry('hostName = "mac-mini"; sshUser = "|";'));
    assert.deepEqual(labels(user.items), ['nix']);
  });
});

describe('publicHostKey', () => {
  test('the known_hosts key of the entry’s host (through its ssh config HostName), as base64 of the key line', async () => {
    const { items, text } = await complete(
      entry('hostName = "mac-mini"; system = "x86_64-linux"; publicHostKey = "|";'),
    );
    const line = fake.keys.mac.split(' ').slice(0, 2).join(' ');
    const item = items.find((i) => i.label.startsWith('ssh-ed25519 SHA256:'));
    assert.ok(item, JSON.stringify(labels(items)));
    assert.match(item.detail ?? '', /known_hosts key of 192\.168\.1\.20/);
    assert.equal(
      accept(text, items, item.label),
      entry(`hostName = "mac-mini"; system = "x86_64-linux"; publicHostKey = "${hostKeyColumnFor(line)}";`),
    );
    assert.deepEqual((await complete(entry('hostName = "nowhere"; publicHostKey = "|";'))).items, []);
  });
});
