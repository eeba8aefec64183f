// Runs the mocha suite of test/vscode/suite inside a real VS Code through @vscode/test-electron.
// With desktop VS Code (VSCODE_EXECUTABLE=/path/to/code) runTests starts it directly; on our
// offline machines runTests starts the project's launcher instead, which serves VS Code 1.100.3
// with code-server to Debian's Chromium (see codeServer/launcher.mjs).
import { runTests } from '@vscode/test-electron';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { provisionBuilders, skipUnlessRealParts, whereBuiltExpression, type BuilderLab } from '../system/fixture';

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
  const lab = await startLab(workspace);
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
        // Which machines of lab.machines are real builders, for the health tests.
        NIX_BUILDERS_LAB: lab ? JSON.stringify(Object.fromEntries(Object.entries(lab.builders).map(([name, b]) => [name, b.uri]))) : '',
        NIX_BUILDERS_LAB_HOSTNAMES: lab ? JSON.stringify(Object.fromEntries(Object.entries(lab.builders).map(([name, b]) => [name, b.hostname]))) : '',
      },
    });
    return 0;
  } catch (error) {
    console.error(`The VS Code suite failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await lab?.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

const labBuilders = ['healthy', 'closedPort', 'untrusted'] as const;

/**
 * Real builders for the view's health tests (sshd + nix-daemon on loopback, see test/system):
 * their lines go into the workspace as lab.machines, and the workspace's settings point the
 * extension at the lab's ssh config. Without the real parts: fails in CI, skipped elsewhere.
 */
async function startLab(workspace: string): Promise<BuilderLab<(typeof labBuilders)[number]> | undefined> {
  const skip = skipUnlessRealParts(); // throws in CI when something is missing
  if (skip) {
    console.warn(`\n*** The VS Code health tests are skipped: ${skip} ***\n`);
    return undefined;
  }
  const lab = await provisionBuilders({ builders: [...labBuilders] });
  writeFileSync(join(workspace, 'lab.machines'), `${labBuilders.map((name) => lab.builders[name].machinesLine).join('\n')}\n`);
  // A derivation whose output says where it was built (a fresh one every run: never cached).
  writeFileSync(join(workspace, 'where.nix'), `${whereBuiltExpression({ nonce: randomBytes(6).toString('hex'), system: lab.system })}\n`);
  const settingsFile = join(workspace, '.vscode/settings.json');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(settingsFile, JSON.stringify({ ...settings, 'nixBuilders.sshConfigFile': lab.sshConfig, 'nixBuilders.probeTimeout': 5 }, null, 2));
  return lab;
}

function hasCommand(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, name)));
}

main().then((code) => process.exit(code));
