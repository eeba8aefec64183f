// Entry point VS Code calls inside the extension host (`--extensionTestsPath`): runs every
// `*.test.js` bundled next to this file with mocha and rejects when any test fails.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  console.log(`Running in VS Code ${vscode.version} (${vscode.env.appName}, ui ${vscode.UIKind[vscode.env.uiKind]})`);
  // runTests.ts says which VS Code it started: a run in another one must not pass as that one.
  const expected = process.env.NIX_BUILDERS_EXPECTED_VSCODE;
  if (expected && expected !== vscode.version) {
    console.log(`vscode ${expected}: 0 passed, 1 failed, 0 skipped`);
    throw new Error(`expected VS Code ${expected}, but this is VS Code ${vscode.version}`);
  }
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 30_000, reporter: 'spec' });
  for (const file of readdirSync(__dirname).filter((name) => name.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, file));
  }
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, pending = 0 } = runner.stats ?? {};
      // The line scripts/test.mjs reads to sum up every tier, one per VS Code version.
      console.log(`vscode ${vscode.version}: ${passes} passed, ${failures} failed, ${pending} skipped`);
      if (failures > 0) reject(new Error(`${failures} test(s) failed in VS Code ${vscode.version}`));
      else resolve();
    });
  });
}
