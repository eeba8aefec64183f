// The server keeps each machines file's lines between edits (model/lineMemo.ts): through a real
// LSP connection, random edits sent as VS Code sends them (a range and its new text), and after
// each one the published diagnostics are exactly those of the text analysed from scratch here.
// Replay with INCREMENTAL_LSP_SEED=<seed>.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze } from '../../server/src/language/analysis';
import { diagnosticsToPublish } from '../../server/src/language/publishedDiagnostics';
import { detectLocalNix } from '../../server/src/context/localNix';
import { nixTarget } from '../../server/src/context/target';
import { fileIndex } from '../../server/src/context/positions';
import { readTextOrUndefined } from '../../server/src/context/readFile';
import { generateBuildersCase } from '../helpers/builders-generator';
import { makeRng, seedFrom } from '../helpers/prng';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let root: string;
before(async () => {
  client = await LspClient.start();
  client.settings = { nixVersion: '2.8' };
  root = mkdtempSync(join(tmpdir(), 'nix-builders-incremental-'));
});
after(async () => {
  await client.stop();
  rmSync(root, { recursive: true, force: true });
});

test('after each of 150 ranged edits the server publishes the diagnostics of the whole text analysed afresh', async () => {
  const seed = seedFrom('INCREMENTAL_LSP_SEED');
  const rng = makeRng(seed);
  const target = nixTarget('2.8', await detectLocalNix());
  for (let file = 0; file < 5; file++) {
    const dir = join(root, `case-${file}`);
    mkdirSync(dir);
    const generated = generateBuildersCase(rng, { dir });
    for (const [path, content] of Object.entries(generated.files)) writeFileSync(path, content);
    // Many lines, so that most of them are kept and moved by each edit.
    let text =
      Array.from({ length: 20 }, () => generateBuildersCase(rng, { dir: join(dir, 'unwritten') }).text).join('\n') +
      `\n${generated.text}`;
    const path = join(dir, 'machines');
    const uri = await client.open(path, 'nix-machines', text);
    await client.diagnostics(uri);
    for (let i = 0; i < 30; i++) {
      const document = TextDocument.create(uri, 'nix-machines', 0, text);
      const start = rng.int(text.length + 1);
      const end = Math.min(text.length, start + rng.int(4));
      const inserted = rng.pick(['', 'x', ' ', '\n', ';', '#', '-', '0', 'ssh://b x86_64-linux\n', '@/nonexistent\n']);
      const range = { start: document.positionAt(start), end: document.positionAt(end) };
      // The text as the server's TextDocuments makes it (a range inside `\r\n` is read as LSP reads it).
      text = TextDocument.update(document, [{ range, text: inserted }], 1).getText();
      const version = await client.changeRange(uri, range, inserted);
      const published = await client.diagnostics(uri, (p) => p.version === version);
      const expected = diagnosticsToPublish(
        analyze(text, 'nix-machines', path, target).problems,
        TextDocument.create(uri, 'nix-machines', version, text),
        fileIndex(readTextOrUndefined),
      );
      assert.deepStrictEqual(
        published,
        JSON.parse(JSON.stringify(expected)),
        `seed ${seed}, file ${file}, edit ${i}: ${JSON.stringify(text)}`,
      );
    }
    await client.close(uri);
  }
});
