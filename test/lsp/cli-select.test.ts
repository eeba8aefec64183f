// `nix-builders select`: the machine Nix would pick and every machine's reason, without building
// or connecting. (The system tier holds the same choice against real Nix on real builders.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const cli = join(__dirname, '../../dist/cli.js');
const select = (...args: string[]) => spawnSync(process.execPath, [cli, 'select', ...args], { encoding: 'utf8' });

const builders = [
  'ssh://slow x86_64-linux - 4 1',
  'ssh://fast x86_64-linux - 4 4 big-parallel',
  'ssh://arm aarch64-linux - 4 8',
  'ssh://kvm-only x86_64-linux - 4 9 - kvm',
].join('\n');

test('the faster machine wins the tie at load 0; every machine says why', () => {
  const result = select('--system', 'x86_64-linux', '--builders', builders, '--nix-version', '2.8');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^Nix would build x86_64-linux on ssh:\/\/fast\.$/m);
  assert.match(result.stdout, /→ fast +chosen/);
  assert.match(result.stdout, /arm +wrong-system +builds for aarch64-linux, not x86_64-linux/);
  assert.match(result.stdout, /kvm-only +mandatory-not-requested +only takes derivations that require kvm/);
});

test('--features and --format json', () => {
  const result = select(
    '--system',
    'x86_64-linux',
    '--features',
    'big-parallel',
    '--builders',
    builders,
    '--format',
    'json',
  );
  assert.equal(result.status, 0, result.stderr);
  const json = JSON.parse(result.stdout) as { chosen: string; machines: { uri: string; verdict: string }[] };
  assert.equal(json.chosen, 'ssh://fast');
  assert.deepEqual(
    json.machines.map((m) => m.verdict),
    ['missing-feature', 'chosen', 'wrong-system', 'missing-feature'],
  );
});

test('no machine fits: exit 1 and the reason', () => {
  const result = select('--system', 'riscv64-linux', '--builders', builders);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /No machine fits riscv64-linux: Nix prints "Failed to find a machine for remote build!"/);
});

test('select without --system is a usage error', () => {
  const result = select('--builders', builders);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /select needs --system/);
});
