// The derivation of the file in the editor, through real Nix: a set of derivations asks for an
// attribute, -A picks one, a flake.nix gives its default package, a .drv is read as it is, and an
// evaluation error comes back in Nix's words. --arg/--argstr reach the file's function as
// nix-build gives them, word for word (no shell, no splicing into Nix code).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { derivationOf } from '../../server/src/dispatch/currentDerivation';
import { requireRealNix } from '../helpers/requireNix';

const nix = requireRealNix('the current derivation is read through Nix');
if (nix !== undefined) {
  let dir: string;
  const saved = process.env.NIX_CONFIG;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nix-builders-current-'));
    process.env.NIX_CONFIG = 'substituters ='; // offline: never ask a binary cache
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.NIX_CONFIG;
    else process.env.NIX_CONFIG = saved;
  });
  const drv = (name: string, extra = '') =>
    `derivation { name = "${name}"; system = "${nix.system}"; builder = "/bin/sh"; args = [ "-c" "echo ${name} > $out" ]; ${extra} }`;

  test('a file with several derivations asks which one; -A picks it with its system and features', async () => {
    const file = join(dir, 'set.nix');
    writeFileSync(file, `{ a = ${drv('a')}; b = ${drv('b', 'requiredSystemFeatures = [ "kvm" ];')}; n = 3; }\n`);
    assert.deepEqual(await derivationOf(file), { ok: false, needsAttribute: ['a', 'b'] });
    const b = await derivationOf(file, 'b');
    assert.ok(b.ok, JSON.stringify(b));
    assert.match(b.drvPath, /^\/nix\/store\/[a-z0-9]{32}-b\.drv$/);
    assert.equal(b.derivation.system, nix.system);
    assert.deepEqual(b.derivation.requiredSystemFeatures, ['kvm']);
  });

  test('a file that is one derivation (or a function giving one) needs no attribute', async () => {
    const file = join(dir, 'one.nix');
    writeFileSync(file, `{ }: ${drv('one')}\n`);
    const one = await derivationOf(file);
    assert.ok(one.ok, JSON.stringify(one));
    const again = await derivationOf(one.drvPath);
    assert.ok(again.ok);
    assert.equal(again.drvPath, one.drvPath, 'a .drv is taken as it is');
  });

  test('a flake.nix gives its default package', async () => {
    const flake = join(dir, 'flake');
    mkdirSync(flake);
    writeFileSync(
      join(flake, 'flake.nix'),
      `{ outputs = { self }: { packages.${nix.system}.default = ${drv('flaky')}; }; }\n`,
    );
    const result = await derivationOf(join(flake, 'flake.nix'));
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.drvPath, /-flaky\.drv$/);
  });

  test('an evaluation error comes back as Nix prints it', async () => {
    const file = join(dir, 'broken.nix');
    writeFileSync(file, 'derivation { name = "broken"; }\n');
    const result = await derivationOf(file);
    assert.equal(result.ok, false);
    assert.match('error' in result ? result.error : '', /^error: required attribute 'builder' missing/);
  });

  test('--arg gives a Nix expression and --argstr a string to the function in the file', async () => {
    const file = join(dir, 'args.nix');
    // A string no shell or Nix splice would survive unchanged.
    const odd = `a"b $(touch ${join(dir, 'pwned')}) \${x} '`;
    writeFileSync(
      file,
      `{ n, s, unset ? "default" }: ${drv('args', 'N = toString n; S = s; U = unset;')}
`,
    );
    const missing = await derivationOf(file);
    assert.equal(missing.ok, false, 'without them Nix says which argument it needs');
    assert.match('error' in missing ? missing.error : '', /without required argument 'n'|'n'/);

    const given = await derivationOf(file, undefined, [
      { kind: 'arg', name: 'n', value: '40 + 2' },
      { kind: 'argstr', name: 's', value: odd },
    ]);
    assert.ok(given.ok, JSON.stringify(given));
    assert.equal(given.derivation.env.N, '42', '--arg is evaluated as Nix');
    assert.equal(given.derivation.env.S, odd, '--argstr is the string as typed');
    assert.equal(given.derivation.env.U, 'default');
    assert.equal(existsSync(join(dir, 'pwned')), false, 'nothing ran through a shell');
  });

  test('--arg reaches a function that gives a set of derivations: the set is listed, -A picks', async () => {
    const file = join(dir, 'args-set.nix');
    writeFileSync(
      file,
      `{ tag }: { a = ${drv('a', 'T = tag;')}; b = ${drv('b')}; }
`,
    );
    const args = [{ kind: 'argstr' as const, name: 'tag', value: 'x1' }];
    assert.deepEqual(await derivationOf(file, undefined, args), { ok: false, needsAttribute: ['a', 'b'] });
    const a = await derivationOf(file, 'a', args);
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.derivation.env.T, 'x1');
  });

  test('--arg for a .drv or a flake is refused, naming the argument', async () => {
    const result = await derivationOf('/nix/store/00000000000000000000000000000000-x.drv', undefined, [
      { kind: 'arg', name: 'n', value: '1' },
    ]);
    assert.equal(result.ok, false);
    assert.match('error' in result ? result.error : '', /^--arg n: arguments are for a \.nix file's function/);
  });

  test('a .drv outside /nix/store is refused', async () => {
    const result = await derivationOf('/tmp/x.drv');
    assert.deepEqual(result, { ok: false, error: '/tmp/x.drv is not a derivation in /nix/store.' });
  });
}
