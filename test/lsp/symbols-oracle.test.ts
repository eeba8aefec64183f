// The outline counts exactly the machines Nix reads: random machines files go through the
// language server (document symbols) and through real Nix (the `N available machines` oracle),
// and the counts agree whenever Nix accepts the text. Without Nix: fails in CI, skipped loudly
// elsewhere. Replay with NIX_ORACLE_SEED=<seed>.
import assert from 'node:assert/strict';
import { requireRealNix } from '../helpers/requireNix';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateBuildersCase } from '../helpers/builders-generator';
import { askNixAboutBuilders } from '../helpers/nix';
import { makeRng, seedFrom } from '../helpers/prng';
import { LspClient } from './helpers/lspClient';

const nix = requireRealNix('symbols count the machines Nix reads');
const cases = 40;

if (nix !== undefined) {
  let client: LspClient;
  let root: string;
  before(async () => {
    client = await LspClient.start();
    client.settings = { nixVersion: 'auto' };
    root = mkdtempSync(join(tmpdir(), 'nix-builders-symbols-'));
  });
  after(async () => {
    await client.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test(`the outline of ${cases} random machines files has one symbol per machine Nix reads`, async () => {
    const seed = seedFrom('NIX_ORACLE_SEED');
    const rng = makeRng(seed);
    let compared = 0;
    for (let i = 0; i < cases; i++) {
      const dir = join(root, `case-${i}`);
      mkdirSync(dir);
      const generated = generateBuildersCase(rng, { dir });
      for (const [path, content] of Object.entries(generated.files)) writeFileSync(path, content);
      const answer = await askNixAboutBuilders(generated.text, dir, i % 2);
      const uri = await client.open(join(dir, 'machines'), 'nix-machines', generated.text);
      await client.diagnostics(uri);
      const symbols = await client.symbols(uri);
      await client.close(uri);
      if (!answer.accepted) continue;
      compared++;
      assert.equal(symbols.length, answer.rows.length, `seed ${seed}, case ${i}: ${JSON.stringify(generated.text)}`);
    }
    assert.ok(compared > 0, `seed ${seed}: Nix accepted none of the ${cases} texts`);
  });
}
