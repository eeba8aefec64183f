// `nix-builders build FILE --arg NAME EXPR --argstr NAME S`, as nix-build users type them: the
// words reach the file's function through real Nix (an argument Nix did not get, or got wrong,
// fails the evaluation), nothing runs through a shell, and a malformed one is a usage error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requireRealNix } from '../helpers/requireNix';

const dir = mkdtempSync(join(tmpdir(), 'nix-builders-cli-args-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `nix-builders ARGS` offline (no binary cache is asked): exit status and output. */
function run(...args: string[]) {
  const env = { ...process.env, NIX_CONFIG: 'substituters =' };
  return spawnSync(process.execPath, [join(__dirname, '../../dist/cli.js'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env,
  });
}

/** Exit 2 (nothing ran), saying what is wrong. */
const assertUsageError = ({ status, stdout, stderr }: ReturnType<typeof run>, pattern: RegExp) => {
  assert.equal(status, 2, `exit ${status}\n${stdout}${stderr}`);
  assert.match(stderr, pattern);
};

test('--arg without NAME and EXPR, on a subcommand that builds nothing, twice for one name, or with a bad name: usage errors', () => {
  assertUsageError(
    run('build', 'x.nix', '--arg', 'n'),
    /--arg needs a NAME and a EXPR|--arg needs a NAME and an? EXPR/,
  );
  assertUsageError(run('build', 'x.nix', '--argstr'), /--argstr needs a NAME and a STRING/);
  assertUsageError(
    run('ping', '--builders', 'ssh://127.0.0.1:9 x86_64-linux', '--arg', 'n', '1'),
    /ping does not take --arg/,
  );
  assertUsageError(
    run('build', 'x.nix', '--arg', 'n', '1', '--argstr', 'n', 'one'),
    /the argument 'n' is given more than once/,
  );
  assertUsageError(run('build', 'x.nix', '--arg', 'a b', '1'), /--arg 'a b' is not a Nix argument name/);
  assert.match(run('build', '--help').stdout, /--arg NAME EXPR[\s\S]*--argstr NAME S/);
});

const nix = requireRealNix('--arg and --argstr reach the function in the file as nix-build gives them');
if (nix !== undefined) {
  const noMachines = () => {
    const file = join(dir, 'machines');
    writeFileSync(file, '');
    return file;
  };
  test('the arguments reach the function: evaluation passes only with both, as given, and nothing runs in a shell', () => {
    const pwned = join(dir, 'pwned');
    const odd = `a"b $(touch ${pwned}) \${x} '`;
    const file = join(dir, 'args.nix');
    // Nix itself checks the values: a wrong one fails the evaluation with our message.
    writeFileSync(
      file,
      `{ n, s }: assert n == 42; assert s == ${JSON.stringify(odd).replace(/\$\{/g, '\\${')};
derivation { name = "cli-args"; system = "${nix.system}"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }\n`,
    );
    // No machine at all: the build stops right after the evaluation, saying why.
    const machines = ['--machines', noMachines(), '--format', 'json'];
    const missing = JSON.parse(run('build', file, '--arg', 'n', '42', ...machines).stdout) as {
      cause: string;
      message: string;
    };
    assert.equal(missing.cause, 'evaluation');
    assert.match(missing.message, /'s'/);
    const wrong = JSON.parse(run('build', file, '--arg', 'n', '41', '--argstr', 's', odd, ...machines).stdout) as {
      cause: string;
      message: string;
    };
    assert.equal(wrong.cause, 'evaluation', 'n is 41: the assertion fails');
    const given = run('build', file, '--arg', 'n', '40 + 2', '--argstr', 's', odd, ...machines);
    const outcome = JSON.parse(given.stdout) as { cause?: string; message?: string };
    assert.notEqual(outcome.cause, 'evaluation', `evaluated: ${given.stdout}${given.stderr}`);
    assert.equal(existsSync(pwned), false, 'nothing ran through a shell');
  });

  test('--arg for a flake is refused with what it is for', () => {
    const flake = join(dir, 'flake.nix');
    writeFileSync(flake, '{ outputs = { self }: { }; }\n');
    const result = run('build', flake, '--arg', 'n', '1', '--machines', noMachines(), '--format', 'json');
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /--arg n: arguments are for a \.nix file's function/);
  });
}
