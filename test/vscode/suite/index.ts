// Entry point VS Code calls inside the extension host (`--extensionTestsPath`): runs every
// `*.test.js` bundled next to this file with mocha and rejects when any test fails. The
// untrusted-workspace run (runTests.ts) runs untrusted.test.js alone, and only it runs that file:
// every other suite needs the trust it would lack. Likewise the runs as a normal user
// (NIX_BUILDERS_AS_USER) run multiuser.test.js alone: the other suites assume root's single-user Nix.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  console.log(`Running in VS Code ${vscode.version} (${vscode.env.appName}, ui ${vscode.UIKind[vscode.env.uiKind]})`);
  // runTests.ts says which VS Code it started: a run in another one must not pass as that one.
  const expected = process.env.NIX_BUILDERS_EXPECTED_VSCODE;
  if (expected && expected !== vscode.version) {
    console.log(`vscode ${process.env.NIX_BUILDERS_RUN_LABEL || expected}: 0 passed, 1 failed, 0 skipped`);
    throw new Error(`expected VS Code ${expected}, but this is VS Code ${vscode.version}`);
  }
  // The name of this run in the summary line: the VS Code version, or runTests.ts's label for it.
  const label = process.env.NIX_BUILDERS_RUN_LABEL || vscode.version;
  // A run with a suite of its own runs that file alone, and no other run runs it.
  const ownSuite =
    process.env.NIX_BUILDERS_WORKSPACE_TRUST === 'on'
      ? 'untrusted.test.js'
      : process.env.NIX_BUILDERS_AS_USER
        ? 'multiuser.test.js'
        : undefined;
  const ownSuites = ['untrusted.test.js', 'multiuser.test.js'];
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 30_000, reporter: 'spec' });
  const files = readdirSync(__dirname).filter(
    (name) => name.endsWith('.test.js') && (ownSuite ? name === ownSuite : !ownSuites.includes(name)),
  );
  for (const file of files.sort()) {
    mocha.addFile(join(__dirname, file));
  }
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, pending = 0 } = runner.stats ?? {};
      // The line scripts/test.mjs reads to sum up every tier, one per VS Code version.
      console.log(`vscode ${label}: ${passes} passed, ${failures} failed, ${pending} skipped`);
      if (failures > 0) reject(new Error(`${failures} test(s) failed in VS Code ${label}`));
      else resolve();
    });
  });
}
