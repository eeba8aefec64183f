// The outline counts exactly the machines Nix reads: random machines files go through the
// language server (document symbols) and through real Nix (the `N available machines` oracle),
// and the counts agree whenever Nix accepts the text. Without Nix: fails in CI, skipped loudly
// elsewhere. Replay with NIX_ORACLE_SEED=<seed>.
import assert from 'node:assert/strict';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateBuildersCase } from '../helpers/builders-generator';
import { askNixAboutBuilders, type InstalledNix } from '../helpers/nix';
import { formatNixVersion, parseNixVersion } from '../../server/src/model/nixVersion';
import { makeRng, seedFrom } from '../helpers/prng';
import { LspClient } from './helpers/lspClient';

const nix = requireRealNix('symbols count the machines Nix reads');
const cases = 40;

// The machine's own Nix (the server detects it) and the version lab's (the server is told).
if (nix !== undefined) describeOutline(nix, 'auto');
for (const labNix of requireLabNixes('symbols count the machines Nix reads'))
  describeOutline(labNix, formatNixVersion(parseNixVersion(labNix.versionText)!));

function describeOutline(nix: InstalledNix, nixVersion: string): void {
  let client: LspClient;
  let root: string;
  before(async () => {
    client = await LspClient.start();
    client.settings = { nixVersion };
    root = mkdtempSync(join(tmpdir(), 'nix-builders-symbols-'));
  });
  after(async () => {
    await client.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test(`the outline of ${cases} random machines files has one symbol per machine ${nix.versionText} reads`, async () => {
    const seed = seedFrom('NIX_ORACLE_SEED');
    const rng = makeRng(seed);
    let compared = 0;
    for (let i = 0; i < cases; i++) {
      const dir = join(root, `case-${i}`);
      mkdirSync(dir);
      const generated = generateBuildersCase(rng, { dir });
      for (const [path, content] of Object.entries(generated.files)) writeFileSync(path, content);
      const answer = await askNixAboutBuilders(generated.text, dir, i % 2, nix);
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
