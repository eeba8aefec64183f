// Entry point VS Code calls inside the extension host (`--extensionTestsPath`): runs every
// `*.test.js` bundled next to this file with mocha and rejects when any test fails.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  console.log(`Running in VS Code ${vscode.version} (${vscode.env.appName}, ui ${vscode.UIKind[vscode.env.uiKind]})`);
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 30_000, reporter: 'spec' });
  for (const file of readdirSync(__dirname).filter((name) => name.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, file));
  }
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, pending = 0 } = runner.stats ?? {};
      // The line scripts/test.mjs reads to sum up every tier.
      console.log(`vscode: ${passes} passed, ${failures} failed, ${pending} skipped`);
      if (failures > 0) reject(new Error(`${failures} test(s) failed in VS Code ${vscode.version}`));
      else resolve();
    });
  });
}
