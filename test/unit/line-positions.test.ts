// The publish's positions from the parse's own line starts (language/linePositions.ts) are
// TextDocument's own, at every offset of generated machines files (and outside them), on each
// rule set; and a text with a `\r` anywhere keeps TextDocument's positions (LSP breaks lines
// there too). Replay with LINE_POSITIONS_SEED=<seed>.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyzeInSteps, lineMemo } from '../../server/src/language/analysis';
import { positionsFrom } from '../../server/src/language/linePositions';
import type { LineParse } from '../../server/src/model/lineMemo';
import { nixTarget } from '../../server/src/context/target';
import { generateBuildersCase } from '../helpers/builders-generator';
import { makeRng, seedFrom } from '../helpers/prng';

const target = nixTarget('2.26.3', {
  version: undefined,
  versionText: undefined,
  system: 'x86_64-linux',
  daemon: false,
  keyHome: '/home/user',
});

async function linesOf(text: string) {
  const analysis = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => undefined, lineMemo());
  return (analysis.builders as LineParse).lines;
}

test('positions from the line starts are TextDocument’s at every offset', async () => {
  const seed = seedFrom('LINE_POSITIONS_SEED');
  const rng = makeRng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'line-positions-'));
  try {
    const texts = ['', '\n', 'ssh://a', 'ssh://a\n\n', 'ssh://🙂 x86_64-linux\n# ü\nssh://b'];
    for (let i = 0; i < 60; i++) texts.push(generateBuildersCase(rng, { dir }).text.replaceAll('\r', ''));
    let compared = 0;
    for (const text of texts) {
      const document = TextDocument.create('file:///m', 'nix-machines', 1, text);
      const positions = positionsFrom(document, await linesOf(text));
      assert.notEqual(positions, document, 'a text without \\r uses the line starts');
      for (let offset = -2; offset <= text.length + 2; offset++) {
        assert.deepEqual(
          positions.positionAt(offset),
          document.positionAt(offset),
          `seed ${seed}, offset ${offset} of ${JSON.stringify(text.slice(0, 200))}`,
        );
        compared++;
      }
    }
    assert.ok(compared > 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a text with a \\r keeps TextDocument’s positions', async () => {
  for (const text of ['ssh://a\r\nssh://b\n', 'ssh://a\rssh://b\n', 'ssh://a\n\r']) {
    const document = TextDocument.create('file:///m', 'nix-machines', 1, text);
    assert.equal(positionsFrom(document, await linesOf(text)), document);
  }
});
