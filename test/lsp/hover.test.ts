// Hovers over a real LSP connection: every column says its name, meaning, default and the value
// as Nix reads it; systems and features say what they mean; column 8 shows the key as
// `ssh-keygen -lf` prints it; the host shows the SSH settings from `ssh -G`, which runs only
// in a trusted workspace (an ssh config `Match exec` proves when it ran).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { hostKeyColumnFor } from '../../server/src/model/hostKey';
import { positionOf } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

let dir: string;
let count = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-hover-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const textOf = (hover: Hover | null) => (hover?.contents as MarkupContent | undefined)?.value ?? '';

/** The hover at `marker` (plus `offset` characters) in a document with `text`. */
async function hoverAt(
  client: LspClient,
  text: string,
  marker: string,
  offset = 0,
  languageId: 'nix-machines' | 'nix-conf' = 'nix-machines',
): Promise<string> {
  const path =
    languageId === 'nix-conf' ? join(mkdtempSync(join(dir, 'conf-')), 'nix.conf') : join(dir, `h${count++}.machines`);
  const uri = await client.open(path, languageId, text);
  return textOf(await client.hover(uri, positionOf(text, marker, offset)));
}

describe('columns', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start();
    client.settings = { nixVersion: '2.8' };
  });
  after(() => client.stop());

  const line = 'nix@builder x86_64-linux,x86-64-linux - 0 3 big-parallel,my-feature kvm - extra\n';

  test('each column names itself, says its default, and the value as Nix reads it', async () => {
    const uri = await hoverAt(client, line, 'nix@builder');
    assert.match(uri, /\*\*store URI\*\* · column 1/);
    assert.match(uri, /As Nix reads it: `ssh:\/\/nix@builder` \(Nix puts `ssh:\/\/` in front of a bare host\)/);
    assert.match(uri, /nix-store --serve --write/);
    const key = await hoverAt(client, line, ' - 0', 1);
    assert.match(key, /\*\*SSH identity file\*\* · column 3/);
    assert.match(key, /Default: ssh's own identities/);
    const jobs = await hoverAt(client, line, ' 0 3', 1);
    assert.match(jobs, /\*\*maxJobs\*\* · column 4/);
    assert.match(jobs, /maxJobs 0: Nix never gives this machine a job/);
    const speed = await hoverAt(client, line, ' 3 ', 1);
    assert.match(speed, /Default: 1/);
    assert.match(speed, /speedFactor 3/);
    const mandatory = await hoverAt(client, line, 'kvm');
    assert.match(mandatory, /\*\*mandatory features\*\* · column 7/);
    assert.match(mandatory, /Only derivations that require it are built here/);
    const hostKey = await hoverAt(client, line, '- extra');
    assert.match(hostKey, /no host key; ssh checks known_hosts/);
    const extra = await hoverAt(client, line, 'extra');
    assert.match(extra, /column 9\*\*: Nix reads eight columns and ignores `extra`/);
  });

  test('a value shifted by a forgotten column: the hover says what Nix reads it as and that a column seems missing', async () => {
    const text = await hoverAt(client, 'ssh://b x86_64-linux 4 1\n', ' 4', 1);
    assert.match(
      text,
      /^⚠ Column 3 \(SSH key\) is '4', a whole number, as in maxJobs \(column 4\).*is a column missing before it\?/,
    );
    assert.match(text, /\*\*SSH identity file\*\* · column 3/);
    const fine = await hoverAt(client, 'ssh://b x86_64-linux - 4 1\n', ' 4', 1);
    assert.doesNotMatch(fine, /⚠/);
  });

  test('a system or feature says what it means; an unknown system says no build comes for it', async () => {
    assert.match(await hoverAt(client, line, 'x86_64-linux'), /^`x86_64-linux`: x86_64 CPUs running Linux\./);
    assert.match(
      await hoverAt(client, line, 'x86-64-linux'),
      /^`x86-64-linux`: not a system any derivation is built for/,
    );
    assert.match(await hoverAt(client, line, 'big-parallel'), /^`big-parallel`: Large builds/);
    assert.match(await hoverAt(client, line, 'my-feature'), /^`my-feature`: a feature of your own/);
    assert.match(await hoverAt(client, line, 'kvm'), /^`kvm`: The machine has `\/dev\/kvm`/);
  });

  test('`-` in the systems column is the local system; a fraction of speedFactor is an error on Nix 2.8', async () => {
    assert.match(await hoverAt(client, 'ssh://a - - 1 1.5\n', ' - -', 1), /the local system `x86_64-linux`/);
    assert.match(
      await hoverAt(client, 'ssh://a - - 1 1.5\n', '1.5'),
      /reads whole numbers only \(fractions need Nix 2\.20\)/,
    );
  });

  for (const [type, bits] of [
    ['ed25519', ''],
    ['ecdsa', '384'],
    ['rsa', '3072'],
  ] as const) {
    test(`column 8 (${type}): key type, SHA256 fingerprint and comment, exactly as ssh-keygen -lf prints them`, async () => {
      const file = join(dir, `host_${type}`);
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        type,
        ...(bits ? ['-b', bits] : []),
        '-N',
        '',
        '-C',
        'root@builder',
        '-f',
        file,
      ]);
      const printed = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).trim();
      const column8 = hostKeyColumnFor(readFileSync(`${file}.pub`, 'utf8'));
      const text = await hoverAt(client, `ssh://a x86_64-linux - 1 1 - - ${column8}\n`, column8, 3);
      assert.ok(text.includes(`\`ssh-keygen -lf\` prints: \`${printed}\``), `${printed} not in ${text}`);
      assert.ok(text.includes(`fingerprint: \`${printed.split(' ')[1]}\``));
      assert.ok(text.includes(`type: \`${readFileSync(`${file}.pub`, 'utf8').split(' ')[0]}\``));
      assert.ok(text.includes('comment: `root@builder`'));
    });
  }

  test('an include says how many machines it brings, or that it is missing', async () => {
    const included = join(dir, 'included');
    writeFileSync(included, 'ssh://x x86_64-linux\nssh://y x86_64-linux\n');
    assert.match(
      await hoverAt(client, `@${included}\n`, 'included'),
      /reads the machines of `.*included` here \(2 machines\)/,
    );
    assert.match(await hoverAt(client, `@${join(dir, 'nope')}\n`, 'nope'), /does not exist; Nix skips it silently/);
  });

  test('nix.conf: a setting name shows its docs and default; the builders value hovers like a machines file', async () => {
    const conf = 'builders-use-substitutes = true\nbuilders = ssh://a   x86_64-linux - 0 ; ssh://b\n';
    assert.match(await hoverAt(client, conf, 'builders-use-substitutes', 0, 'nix-conf'), /Default: `false`/);
    assert.match(await hoverAt(client, conf, ' 0 ;', 1, 'nix-conf'), /maxJobs 0: Nix never gives this machine a job/);
    assert.match(await hoverAt(client, conf, 'x86_64', 0, 'nix-conf'), /^`x86_64-linux`/);
  });
});

describe('the SSH settings of the host', () => {
  let marker: string;
  let config: string;

  before(() => {
    marker = join(dir, 'match-exec-ran');
    config = join(dir, 'ssh_config');
    // `ssh -G` evaluates `Match exec`: it runs the command. Reading the file does not.
    writeFileSync(
      config,
      `Match host viamatch exec "touch ${marker}"\n  HostName 10.9.9.9\nHost builder-alias\n  HostName 10.1.2.3\n  Port 2222\n  User nixremote\n  IdentityFile /keys/builder\n  ProxyJump jump.example\n`,
    );
  });

  test('untrusted workspace: read from the config file; `ssh -G` never runs (its Match exec did not)', async () => {
    const client = await LspClient.start();
    client.settings = { nixVersion: '2.8', sshConfigFile: config };
    try {
      const text = await hoverAt(client, 'ssh://builder-alias x86_64-linux\nssh://viamatch\n', 'builder-alias');
      assert.match(
        text,
        /SSH settings for `builder-alias`\*\* from .*ssh_config \(read from the config files: `ssh -G` runs only in a trusted workspace/,
      );
      assert.match(text, /HostName: `10\.1\.2\.3`/);
      assert.match(text, /Port: `2222`/);
      assert.match(text, /User: `nixremote`/);
      assert.match(text, /IdentityFile: `\/keys\/builder`/);
      assert.match(text, /ProxyJump: `jump\.example`/);
      const viaMatch = await hoverAt(client, 'ssh://viamatch\n', 'viamatch');
      assert.match(viaMatch, /HostName: `viamatch`/);
      assert.match(viaMatch, /`Match` blocks are not evaluated/);
      assert.equal(existsSync(marker), false, 'ssh -G ran in an untrusted workspace');
    } finally {
      await client.stop();
    }
  });

  test('trusted workspace: from `ssh -G` (which evaluates Match)', async () => {
    const client = await LspClient.start({ initializationOptions: { trusted: true } });
    client.settings = { nixVersion: '2.8', sshConfigFile: config };
    try {
      const text = await hoverAt(client, 'ssh://nix@builder-alias x86_64-linux\n', 'builder-alias');
      assert.match(text, /SSH settings for `builder-alias`\*\* from `ssh -G builder-alias`/);
      assert.match(text, /HostName: `10\.1\.2\.3`/);
      assert.match(text, /Port: `2222`/);
      assert.match(text, /User: `nix`/); // the user in the URI wins over the config's User
      assert.match(text, /ProxyJump: `jump\.example`/);
      const viaMatch = await hoverAt(client, 'ssh://viamatch\n', 'viamatch');
      assert.match(viaMatch, /HostName: `10\.9\.9\.9`/);
      assert.equal(existsSync(marker), true);
    } finally {
      await client.stop();
      rmSync(marker, { force: true });
    }
  });

  test('trusted, but no ssh binary: read from the config file, and the hover says why', async () => {
    const client = await LspClient.start({
      initializationOptions: { trusted: true },
      env: { ...process.env, PATH: '/nonexistent' },
    });
    client.settings = { nixVersion: '2.8', sshConfigFile: config };
    try {
      const text = await hoverAt(client, 'ssh://builder-alias\n', 'builder-alias');
      assert.match(text, /no ssh binary found/);
      assert.match(text, /HostName: `10\.1\.2\.3`/);
    } finally {
      await client.stop();
    }
  });

  test('`nixBuilders/setTrusted` turns `ssh -G` on later', async () => {
    const client = await LspClient.start();
    client.settings = { nixVersion: '2.8', sshConfigFile: config };
    try {
      assert.match(await hoverAt(client, 'ssh://host-one\n', 'host-one'), /runs only in a trusted workspace/);
      await client.connection.sendNotification('nixBuilders/setTrusted', { trusted: true });
      assert.match(await hoverAt(client, 'ssh://host-two\n', 'host-two'), /from `ssh -G host-two`/);
    } finally {
      await client.stop();
    }
  });
});
