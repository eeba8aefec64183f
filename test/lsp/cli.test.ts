// The `nix-builders` bin as a user runs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import manifest from '../../package.json';

const cli = join(__dirname, '../../dist/cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('nix-builders --help prints the usage with every subcommand', () => {
  const result = run('--help');
  assert.equal(result.status, 0);
  for (const word of ['check', 'ping', 'select', 'build']) assert.match(result.stdout, new RegExp(`nix-builders ${word}`));
});

test('nix-builders --version prints the package version', () => {
  const result = run('--version');
  assert.equal(result.status, 0);
  assert.equal(result.stdout.trim(), manifest.version);
});

test('an unknown subcommand exits 2 and says so on stderr', () => {
  const result = run('frobnicate');
  assert.equal(result.status, 2);
  assert.match(result.stderr, /'frobnicate' is not available/);
});
