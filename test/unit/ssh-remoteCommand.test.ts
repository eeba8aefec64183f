// The one quoting function, proven by round trips through real shells: whatever the argument,
// the shell must hand the program exactly that argument back. And Nix's store path rules.
//   QUOTING_SEED=<n> replays a run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  assertStorePaths,
  isStorePath,
  parseStorePath,
  remoteCommandLine,
  shellQuote,
} from '../../server/src/ssh/remoteCommand';
import { makeRng, seedFrom } from '../helpers/prng';

// The login shells builders' users have. A missing one fails in CI (.ci/run installs them all)
// and is skipped loudly elsewhere: a quoting proof must not shrink without a word.
const wanted = ['sh', 'bash', 'dash', 'zsh', 'fish'];
const missing = wanted.filter((shell) => spawnSync(shell, ['-c', 'true']).status !== 0);
const shells = wanted.filter((shell) => !missing.includes(shell));
if (missing.length > 0) {
  const why = `no ${missing.join(', ')} here: apt-get install ${missing.join(' ')}`;
  if (process.env.CI === 'true') test(`every login shell is installed for the quoting proof`, () => assert.fail(why));
  else test(`quoting round trips through ${missing.join(', ')}`, { skip: why }, () => {});
}

/** Runs `printf '%s\0' <args>` through `shell -c` and splits what comes back. */
function roundTrip(shell: string, args: string[]): string[] {
  const line = remoteCommandLine(['printf', '%s\\0', ...args]);
  const result = spawnSync(shell, ['-c', line], { encoding: 'buffer' });
  assert.equal(result.status, 0, `${shell} -c ${line}: ${result.stderr.toString()}`);
  const parts = result.stdout.toString('utf8').split('\0');
  parts.pop();
  return parts;
}

describe('shell quoting (the one quoting function)', () => {
  test('plain words stay as they are; everything else is single-quoted', () => {
    assert.equal(shellQuote('nix-store'), 'nix-store');
    assert.equal(shellQuote('/nix/store/abc-x'), '/nix/store/abc-x');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
    assert.equal(remoteCommandLine(['nix-store', '--serve', '--write']), 'nix-store --serve --write');
  });

  test('NUL cannot be carried and is refused; an empty command is refused', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
    assert.throws(() => remoteCommandLine([]), /empty/);
  });

  for (const shell of shells) {
    test(`hostile arguments survive a round trip through ${shell} -c unchanged`, () => {
      const hostile = [
        '=ls',
        '==x',
        'a=b',
        "it's",
        '"double"',
        '$HOME',
        '`id`',
        '$(id)',
        'a\\b',
        'new\nline',
        'tab\there',
        '*',
        '?',
        '[a]',
        '~',
        '~root',
        ';',
        '&&',
        '|',
        '>',
        '<',
        '#',
        '!',
        '-n',
        '--',
        '',
        ' ',
        "'",
        "''",
        "'\"'\"'",
        'ünïcödé',
        '${IFS}',
        'a=b',
        '%s',
      ];
      assert.deepEqual(roundTrip(shell, hostile), hostile);
    });

    test(`random arguments survive a round trip through ${shell} -c unchanged`, () => {
      const seed = seedFrom('QUOTING_SEED');
      const rng = makeRng(seed);
      const alphabet = [
        "'",
        '"',
        '\\',
        '$',
        '`',
        ' ',
        '\t',
        '\n',
        '*',
        '?',
        '[',
        ']',
        '~',
        '#',
        ';',
        '&',
        '|',
        '<',
        '>',
        '(',
        ')',
        '{',
        '}',
        '!',
        '=',
        '-',
        'a',
        'Z',
        '0',
        '/',
        '.',
        'é',
        '😀',
      ];
      for (let round = 0; round < 30; round++) {
        const args = Array.from({ length: 1 + rng.int(6) }, () =>
          Array.from({ length: rng.int(12) }, () => rng.pick(alphabet)).join(''),
        );
        assert.deepEqual(roundTrip(shell, args), args, `seed ${seed} round ${round}`);
      }
    });
  }
});

describe('store paths (Nix parseStorePath rules)', () => {
  const hash = '0c0x3nlbq3ig5pbkd3kk5hqsfv4xhwqa';

  test('a valid store path, and its parts', () => {
    assert.deepEqual(parseStorePath(`/nix/store/${hash}-hello-2.12.1`), {
      storeDir: '/nix/store',
      hash,
      name: 'hello-2.12.1',
    });
    assert.ok(isStorePath(`/nix/store/${hash}-a+b-_.?=`));
    assert.ok(isStorePath(`/other/store/${hash}-x`, '/other/store'));
  });

  test('refused: outside the store, sub-paths, short or non-base-32 hashes, bad names', () => {
    const bad = [
      '/tmp/x',
      `/nix/store/${hash}-x/bin/sh`,
      `/nix/store/${hash}`,
      `/nix/store/${hash}-`,
      `/nix/store/${hash.slice(1)}-x`,
      `/nix/store/${hash.replace('0', 'e')}-x`, // e, o, t, u are not in Nix's base-32
      `/nix/store/${hash}-.hidden`,
      `/nix/store/${hash}-has space`,
      `/nix/store/${hash}-semi;colon`,
      `/nix/store/${hash}-quote'`,
      `/nix/store/${hash}-${'x'.repeat(212)}`,
      `/nix/store/../store/${hash}-x`,
    ];
    for (const path of bad) assert.ok(!isStorePath(path), path);
    assert.throws(() => assertStorePaths([`/nix/store/${hash}-ok`, '/etc/passwd']), /not in \/nix\/store/);
  });
});
