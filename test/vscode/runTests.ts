// Runs the mocha suite of test/vscode/suite inside a real VS Code through @vscode/test-electron.
// With desktop VS Code (VSCODE_EXECUTABLE=/path/to/code) runTests starts it directly; on our
// offline machines runTests starts the project's launcher instead, which serves VS Code 1.100.3
// with code-server to Debian's Chromium (see codeServer/launcher.mjs).
import { runTests } from '@vscode/test-electron';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const inCI = process.env.CI === 'true';

async function main(): Promise<number> {
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const desktop = process.env.VSCODE_EXECUTABLE;
  if (!desktop && (!existsSync(chromium) || !hasCommand('rg'))) {
    const what = 'the vscode tier needs Chromium and ripgrep: apt-get install chromium ripgrep';
    if (inCI) {
      console.error(`FAIL: ${what}`);
      return 1;
    }
    console.warn(`\n*** SKIPPED: ${what} ***\n`);
    return 0;
  }
  // A fresh copy of the example workspace and fresh VS Code state for every run.
  const runDir = mkdtempSync(join(tmpdir(), 'nix-builders-vscode-'));
  const workspace = join(runDir, 'workspace');
  cpSync(join(root, 'test/fixtures/example-workspace'), workspace, { recursive: true });
  try {
    await runTests({
      vscodeExecutablePath: desktop || join(root, 'test/vscode/codeServer/launcher.mjs'),
      extensionDevelopmentPath: root,
      extensionTestsPath: join(root, 'out/test/vscode/suite/index.js'),
      launchArgs: [workspace, `--user-data-dir=${join(runDir, 'user-data')}`, `--extensions-dir=${join(runDir, 'extensions')}`],
      extensionTestsEnv: {
        NIX_BUILDERS_TEST_RESULTS: join(root, 'test-results/vscode'),
        // Nix's configuration as the extension will read it: ours, not the machine's.
        NIX_CONF_DIR: join(root, 'test/fixtures/etc-nix'),
        NIX_USER_CONF_FILES: join(runDir, 'no-user-nix.conf'),
        NIX_CONFIG: '',
      },
    });
    return 0;
  } catch (error) {
    console.error(`The VS Code suite failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

function hasCommand(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}

main().then((code) => process.exit(code));
