// Reading .drv files: compared with what real Nix wrote for expressions we know.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseDerivation } from '../../server/src/dispatch/derivation';

const hasNix = spawnSync('nix-instantiate', ['--version']).status === 0;
const hint = 'reading real .drv files needs Nix: apt-get install -y nix-bin';
if (!hasNix && process.env.CI === 'true') test('Nix is installed', () => assert.fail(hint));
if (!hasNix && process.env.CI !== 'true') console.warn(`\n!!! SKIPPED: ${hint}\n`);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-drv-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function instantiate(expression: string, attr?: string): string {
  const file = join(dir, `e${Math.random().toString(36).slice(2)}.nix`);
  writeFileSync(file, expression);
  const env = { ...process.env, NIX_CONFIG: 'substituters =' };
  return execFileSync('nix-instantiate', [file, ...(attr ? ['-A', attr] : [])], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

test(
  'system, builder, args with escapes, outputs and required features, as Nix wrote them',
  { skip: !hasNix && hint },
  () => {
    const drv = instantiate(
      'derivation { name = "t"; system = "aarch64-linux"; builder = "/bin/sh"; args = ["-c" "echo \\"hi\\\\there\\"\\n\\ttab > $out"]; requiredSystemFeatures = ["kvm" "big-parallel"]; outputs = ["out" "dev"]; }',
    );
    const parsed = parseDerivation(readFileSync(drv, 'utf8'));
    assert.equal(parsed.system, 'aarch64-linux');
    assert.equal(parsed.builder, '/bin/sh');
    assert.deepEqual(parsed.args, ['-c', 'echo "hi\\there"\n\ttab > $out']);
    assert.deepEqual(parsed.requiredSystemFeatures, ['kvm', 'big-parallel']);
    assert.deepEqual(
      parsed.outputs.map((o) => o.name),
      ['dev', 'out'],
    );
    assert.ok(parsed.outputs.every((o) => o.path.startsWith('/nix/store/')));
  },
);

test('a dependency chain: the input derivation and its outputs', { skip: !hasNix && hint }, () => {
  const drv = instantiate(
    'let dep = derivation { name = "dep"; system = "x86_64-linux"; builder = "/bin/sh"; args = ["-c" "echo > $out"]; }; in derivation { name = "top"; system = "x86_64-linux"; builder = "/bin/sh"; args = ["-c" "cat ${dep} > $out"]; }',
  );
  const parsed = parseDerivation(readFileSync(drv, 'utf8'));
  assert.equal(parsed.inputDrvs.length, 1);
  assert.match(parsed.inputDrvs[0]!.path, /-dep\.drv$/);
  assert.deepEqual(parsed.inputDrvs[0]!.outputs, ['out']);
  assert.deepEqual(parsed.requiredSystemFeatures, []);
});

test('structured attrs: requiredSystemFeatures comes from __json', { skip: !hasNix && hint }, () => {
  const drv = instantiate(
    'derivation { name = "s"; system = "x86_64-linux"; builder = "/bin/sh"; __structuredAttrs = true; requiredSystemFeatures = ["benchmark"]; }',
  );
  assert.deepEqual(parseDerivation(readFileSync(drv, 'utf8')).requiredSystemFeatures, ['benchmark']);
});

test('text that is not a derivation is refused with a reason', () => {
  assert.throws(() => parseDerivation('{ not a drv }'), /not a derivation: expected 'Derive\('/);
  assert.throws(() => parseDerivation('Derive([("out","/nix/store/x","","")'), /not a derivation/);
});
