// npm test's summary (scripts/test.mjs, scripts/testSummary.mjs): a tier that could not run still
// has its line, saying why; the vscode tier has a line per VS Code version it ran on, and a run
// that never reported counts as a failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '../..');
const summary = () => import('../../scripts/testSummary.mjs');

test('a tier skipped for missing parts has its line in the summary, with the reason', () => {
  // The real npm test, on a machine whose Chromium is missing (outside CI).
  const env: NodeJS.ProcessEnv = { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' };
  delete env.CI;
  const run = spawnSync(process.execPath, ['scripts/test.mjs', 'vscode'], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(
    run.stdout,
    /^vscode: skipped — the vscode tier needs Chromium and ripgrep: apt-get install chromium ripgrep \([\d.]+ s\)$/m,
  );
  assert.match(run.stdout, /^tests: 0 passed, 0 failed, 0 skipped$/m);
});

test('in CI the same missing part fails the tier', () => {
  const env = { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium', CI: 'true' };
  const run = spawnSync(process.execPath, ['scripts/test.mjs', 'vscode'], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 1);
  assert.match(run.stdout, /^vscode: 0 passed, 1 failed, 0 skipped \([\d.]+ s\)$/m);
});

test('the vscode tier has a line per VS Code version, summed into the tier', async () => {
  const { countTests } = await summary();
  const output = [
    'Running in VS Code 1.100.3 (code-server, ui Web)',
    'vscode 1.100.3: 20 passed, 0 failed, 1 skipped',
    'vscode 1.100.3 took 12.9 s',
    'vscode 1.139.1: 18 passed, 2 failed, 0 skipped',
    'vscode 1.139.1 took 12.0 s',
  ].join('\n');
  assert.deepEqual(countTests(output), {
    passed: 38,
    failed: 2,
    skipped: 1,
    runs: [
      'vscode 1.100.3: 20 passed, 0 failed, 1 skipped (12.9 s)',
      'vscode 1.139.1: 18 passed, 2 failed, 0 skipped (12.0 s)',
    ],
  });
});

test('a version that could not run says why; one that never reported is a failure', async () => {
  const { countTests } = await summary();
  const output = [
    'vscode 1.100.3: skipped — code-server 4.100.3 is not installed in .vscode-test/',
    'vscode 1.139.1 took 600.2 s',
  ].join('\n');
  const counts = countTests(output);
  assert.equal(counts.failed, 1);
  assert.deepEqual(counts.runs, [
    'vscode 1.100.3: skipped — code-server 4.100.3 is not installed in .vscode-test/',
    'vscode 1.139.1: did not report (see its output above) (600.2 s)',
  ]);
});

test('a tier whose every test skipped is shown as skipped, with the first reason printed', async () => {
  const { countTests, skippedBecause } = await summary();
  const output =
    'SKIPPING system tests: real Nix remote builders cannot run here: not root\nℹ pass 0\nℹ fail 0\nℹ skipped 12\n';
  const counts = countTests(output);
  assert.equal(
    skippedBecause('system', output, counts),
    'all 12 tests skipped: real Nix remote builders cannot run here: not root',
  );
  assert.equal(
    skippedBecause('system', 'ℹ pass 3\nℹ fail 0\nℹ skipped 12\n', countTests('ℹ pass 3\nℹ fail 0\nℹ skipped 12\n')),
    undefined,
  );
});
