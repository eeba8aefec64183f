// Each line's diagnostics are kept with its problems between publishes (language/lineDiagnostics.ts):
// the same objects while the line stays on its LSP line, a copy with the new line number when
// lines are added above it, and never kept where LSP would place them otherwise once the line
// moved: a lone `\r` (a line break to LSP, not to Nix), or a span that ends after the `\r` of
// `\r\n` (past it, once the `\n` is deleted). After each text of a sequence the publish equals
// a publish of that text from scratch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { analyze, analyzeInSteps, lineMemo } from '../../server/src/language/analysis';
import { diagnosticsByLineToPublish, diagnosticsToPublish } from '../../server/src/language/publishedDiagnostics';
import { fileIndex } from '../../server/src/context/positions';
import { nixTarget } from '../../server/src/context/target';
import { WatchedFiles } from '../../server/src/context/watchedFiles';

// Nix 2.8: an entry of only whitespace is an error there (`empty-entry`), with a span to the line's end.
const target = nixTarget('2.8', {
  version: undefined,
  versionText: undefined,
  system: 'x86_64-linux',
  daemon: false,
  keyHome: '/home/user',
});
const uri = 'file:///machines';

/** The publishes of each text in turn, as the server makes them (one memo, the files' memo), each beside one from scratch. */
async function publishes(texts: string[]): Promise<{ published: Diagnostic[]; expected: Diagnostic[] }[]> {
  const memo = lineMemo();
  const files = new WatchedFiles();
  const result = [];
  try {
    for (const text of texts) {
      const document = TextDocument.create(uri, 'nix-machines', 1, text);
      const analysis = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, memo, files);
      const none = fileIndex(() => undefined);
      result.push({
        published: diagnosticsByLineToPublish(analysis.problemsByLine!, document, none),
        expected: diagnosticsToPublish(analyze(text, 'nix-machines', undefined, target).problems, document, none),
      });
    }
  } finally {
    files.close();
  }
  return result;
}

test('a `\\r\\n` line whose `\\n` is deleted (now the last line): its diagnostic ends on the next LSP line', async () => {
  const steps = await publishes(['x\n  \r\n', 'x\n  \r']);
  for (const { published, expected } of steps) assert.deepStrictEqual(published, expected);
  assert.deepStrictEqual(steps[0]!.published[0]!.range.end, { line: 1, character: 2 });
  assert.deepStrictEqual(steps[1]!.published[0]!.range.end, { line: 2, character: 0 });
});

test('a line with a lone `\\r` before its warning: moved down, the warning is one LSP line below it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'line-diagnostics-'));
  try {
    const line = `ssh://a x86_64-linux\r${join(dir, 'missing-key')} 1`;
    const steps = await publishes([`${line}\n`, `# added\n${line}\n`, `# added\n# and another\n${line}\n`]);
    for (const { published, expected } of steps) assert.deepStrictEqual(published, expected);
    assert.deepStrictEqual(
      steps.map(({ published }) => published.find((d) => d.code === 'ssh-key-missing')!.range.start.line),
      [1, 2, 3],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a line's diagnostics are the same objects while it stays on its line, and a copy on its new line when lines are added above", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'line-diagnostics-'));
  try {
    const lines = Array.from({ length: 5 }, (_, i) => `ssh://b${i} x86_64-linux ${join(dir, `key-${i}`)} 1`);
    const text = `${lines.join('\n')}\n`;
    const longer = text.replace('ssh://b4', 'ssh://b44'); // the last line changed: the others stay where they are
    const moved = `# added\n${longer}`;
    const steps = await publishes([text, longer, moved]);
    for (const { published, expected } of steps) assert.deepStrictEqual(published, expected);
    const [first, second, third] = steps.map(({ published }) => published);
    assert.equal(first!.length, 5);
    for (let i = 0; i < 4; i++) assert.equal(second![i], first![i], `line ${i} kept as it was`);
    assert.notEqual(second![4], first![4], 'the changed line converted again');
    for (let i = 0; i < 5; i++) {
      assert.notEqual(third![i], second![i], `line ${i} moved: a copy, the last publish left as it was`);
      assert.equal(second![i]!.range.start.line, i);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
