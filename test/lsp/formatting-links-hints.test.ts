// Formatting (document and range), document links and inlay hints over a real LSP connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { newMachinesFileText } from '../../server/src/language/codeActions';
import { applyEdits } from './helpers/edits';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let dir: string;
let count = 0;

before(async () => {
  client = await LspClient.start();
  client.settings = { nixVersion: '2.8' };
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-format-'));
});
after(async () => {
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
});

const open = (text: string, languageId: 'nix-machines' | 'nix-conf' = 'nix-machines') =>
  client.open(
    languageId === 'nix-conf' ? join(mkdtempSync(join(dir, 'conf-')), 'nix.conf') : join(dir, `m${count++}.machines`),
    languageId,
    text,
  );

describe('formatting', () => {
  const messy = [
    '# Remote builders',
    'ssh://nix@builder.example.org x86_64-linux,i686-linux /root/.ssh/id_builder 8 2 big-parallel,kvm - -',
    '  ssh-ng://mac-mini aarch64-darwin - 4 1 - - -   # the Mac',
    'ssh://pi\taarch64-linux - 2',
    'a - ; b -',
    '',
  ].join('\n');

  test('Format Document aligns the machines into a table and keeps the comments', async () => {
    const uri = await open(messy);
    const formatted = applyEdits(messy, await client.formatting(uri));
    assert.equal(
      formatted,
      [
        '# Remote builders',
        'ssh://nix@builder.example.org  x86_64-linux,i686-linux  /root/.ssh/id_builder  8  2  big-parallel,kvm  -  -',
        'ssh-ng://mac-mini              aarch64-darwin           -                      4  1  -                 -  - # the Mac',
        'ssh://pi                       aarch64-linux            -                      2',
        'a - ; b -',
        '',
      ].join('\n'),
    );
    // Formatting again changes nothing.
    await client.change(uri, formatted);
    assert.deepEqual(await client.formatting(uri), []);
  });

  test('Format Selection changes only the selected lines', async () => {
    const uri = await open(messy);
    const edits = await client.rangeFormatting(uri, {
      start: { line: 3, character: 0 },
      end: { line: 3, character: 3 },
    });
    assert.equal(edits.length, 1);
    assert.equal(edits[0]!.range.start.line, 3);
    assert.equal(edits[0]!.newText, 'ssh://pi                       aarch64-linux            -                      2');
  });

  test('the header comment a new machines file starts with lines up with the columns', async () => {
    const text = `${newMachinesFileText}ssh://nix@builder.lab x86_64-linux - 8 2 kvm - -\nssh://pi aarch64-linux - 2\n`;
    const uri = await open(text);
    const lines = applyEdits(text, await client.formatting(uri)).split('\n');
    const column = (line: string, n: number) => [...line.matchAll(/(?:^|(?<= ))[^ ]+/g)][n]!.index;
    // `maxJobs` in the header (word 4 after `#`) stands over the 8 and the 2 of column 4.
    assert.equal(column(lines[1]!, 4), column(lines[2]!, 3));
    assert.equal(column(lines[1]!, 4), column(lines[3]!, 3));
    assert.equal(column(lines[1]!, 5), column(lines[2]!, 4));
  });

  test('nix.conf: single spaces in setting lines, comments kept', async () => {
    const text = 'max-jobs    =   0  # remote only\nbuilders   =  ssh://a   x86_64-linux ;  ssh://b\n';
    const uri = await open(text, 'nix-conf');
    assert.equal(
      applyEdits(text, await client.formatting(uri)),
      'max-jobs = 0 # remote only\nbuilders = ssh://a x86_64-linux ; ssh://b\n',
    );
  });
});

describe('document links', () => {
  test('an existing @file and key file are links; missing files and relative paths are not', async () => {
    const included = join(dir, 'team');
    const key = join(dir, 'id_builder');
    writeFileSync(included, 'ssh://x\n');
    writeFileSync(key, 'not really a key\n');
    const text = `@${included}\n@${join(dir, 'missing')}\n@relative\nssh://a x86_64-linux ${key}\nssh://b x86_64-linux ${join(dir, 'nokey')}\n`;
    const uri = await open(text);
    const links = await client.documentLinks(uri);
    assert.deepEqual(
      links.map((l) => [l.target, l.range.start.line, l.range.start.character, l.range.end.character]),
      [
        [pathToFileURL(included).toString(), 0, 1, 1 + included.length],
        [pathToFileURL(key).toString(), 3, 21, 21 + key.length],
      ],
    );
  });

  test('nix.conf: the builders @file and an include line', async () => {
    const included = join(dir, 'machines-from-conf');
    writeFileSync(included, 'ssh://x\n');
    const confDir = mkdtempSync(join(dir, 'conf-'));
    writeFileSync(join(confDir, 'extra.conf'), 'cores = 2\n');
    const uri = await client.open(
      join(confDir, 'nix.conf'),
      'nix-conf',
      `include extra.conf\nbuilders = @${included}\n`,
    );
    const links = await client.documentLinks(uri);
    assert.deepEqual(
      links.map((l) => l.target).sort(),
      [pathToFileURL(join(confDir, 'extra.conf')).toString(), pathToFileURL(included).toString()].sort(),
    );
  });
});

describe('inlay hints', () => {
  test('each `-` placeholder is named by its column', async () => {
    const text = 'ssh://a - - 4 - kvm - -\nssh://b x86_64-linux\n';
    const uri = await open(text);
    const hints = await client.inlayHints(uri, { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } });
    assert.deepEqual(
      hints.map((h) => [h.label, h.position.line, h.position.character]),
      [
        ['systems:', 0, 8],
        ['ssh key:', 0, 10],
        ['speed:', 0, 14],
        ['mandatory:', 0, 20],
        ['host key:', 0, 22],
      ],
    );
    assert.match(String(hints[2]!.tooltip), /Column 5, speedFactor: '-' means the default, 1\./);
  });

  test('an aligned table (as Format Document leaves it) gets no hints, which would push its columns out of line; a ragged line keeps them', async () => {
    const messy = 'ssh://nix@builder.lab x86_64-linux - 8 - kvm - -\nssh://pi aarch64-linux - 2\n';
    const uri = await open(messy);
    const whole = { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } };
    assert.ok((await client.inlayHints(uri, whole)).length > 0);
    const formatted = applyEdits(messy, await client.formatting(uri));
    await client.change(uri, formatted);
    assert.deepEqual(await client.inlayHints(uri, whole), []);
    // A line added by hand, not yet aligned, gets its hints again; the aligned rows stay without.
    const edited = `${formatted}ssh://c x86_64-linux - 1 -\n`;
    await client.change(uri, edited);
    assert.deepEqual([...new Set((await client.inlayHints(uri, whole)).map((h) => h.position.line))], [2]);
  });

  test('only hints in the asked range; none when nixBuilders.inlayHints.enabled is false', async () => {
    const text = 'ssh://a - - 4\nssh://b - - 4\n';
    const uri = await open(text);
    const second = await client.inlayHints(uri, { start: { line: 1, character: 0 }, end: { line: 1, character: 10 } });
    assert.deepEqual(
      second.map((h) => h.position.line),
      [1, 1],
    );
    await client.changeSettings({ nixVersion: '2.8', inlayHints: { enabled: false } });
    try {
      assert.deepEqual(
        await client.inlayHints(uri, { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } }),
        [],
      );
    } finally {
      await client.changeSettings({ nixVersion: '2.8' });
    }
  });
});
