// What a finished build says happened: the words are the outcome's, so the notification, the
// terminal and the CLI cannot disagree. (The system tier runs the real builds behind them:
// test/system/cli-build.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choiceDetail } from '../../server/src/dispatch/buildOnRemote';
import { alreadyBuilt, builtByNix, builtOnMachine } from '../../server/src/dispatch/outcomeWords';

test('one machine: its URI and the time', () => {
  assert.deepEqual(builtOnMachine('ssh://b', 3210), {
    builtOn: 'ssh://b',
    builtBy: [{ uri: 'ssh://b', derivations: 1 }],
    summary: 'Built on ssh://b in 3.2 s.',
  });
});

test('outputs already here: no machine is named', () => {
  const words = alreadyBuilt();
  assert.equal(words.builtOn, undefined);
  assert.deepEqual(words.builtBy, []);
  assert.equal(words.summary, 'Already built: nothing to do (the outputs were in the local store).');
});

test("Nix's remote builds: the builders that built, each with its count, never 'distributed'", () => {
  const words = builtByNix(
    { '/nix/store/a.drv': 'ssh://x', '/nix/store/b.drv': 'ssh://y', '/nix/store/c.drv': 'ssh://x' },
    13_500,
  );
  assert.equal(words.builtOn, undefined, 'no single machine built it');
  assert.deepEqual(words.builtBy, [
    { uri: 'ssh://x', derivations: 2 },
    { uri: 'ssh://y', derivations: 1 },
  ]);
  assert.equal(
    words.summary,
    'Built by Nix over 2 builders in 13.5 s (ssh://x: 2 derivations, ssh://y: 1 derivation).',
  );
  assert.equal(
    builtByNix({ '/nix/store/a.drv': 'ssh://x' }, 1000, 'the nix-daemon').summary,
    'Built by the nix-daemon on ssh://x in 1.0 s (1 derivation).',
  );
  assert.equal(builtByNix({ '/nix/store/a.drv': 'ssh://x' }, 1000).builtOn, 'ssh://x');
  assert.deepEqual(builtByNix({}, 800), alreadyBuilt(), 'Nix built nothing: the outputs were here');
});

test("a picker row's detail: the check's verdict beside the selector's", () => {
  const row = {
    id: '1',
    label: 'u@b',
    uri: 'ssh://u@b',
    kind: 'not-best' as const,
    usable: true,
    reason: 'fits, but ssh://u@c comes first',
    tells: '',
  };
  assert.equal(
    choiceDetail({ ...row, checked: 'unchecked' }, undefined, undefined),
    'fits, but ssh://u@c comes first · not checked yet',
  );
  assert.equal(choiceDetail({ ...row, checked: 'up' }, undefined, undefined), 'fits, but ssh://u@c comes first');
  assert.equal(
    choiceDetail({ ...row, checked: 'untrusted' }, undefined, 'the store does not trust u'),
    'fits, but ssh://u@c comes first · last check: untrusted (the store does not trust u)',
  );
  assert.equal(
    choiceDetail(
      { ...row, kind: 'down', usable: false, reason: 'its last check failed: connection refused', checked: 'down' },
      undefined,
      'connection refused',
    ),
    'its last check failed: connection refused',
  );
  assert.equal(
    choiceDetail({ ...row, checked: 'up', tells: 'key /k, line 2 of /m' }, '/w/machines', undefined),
    'fits, but ssh://u@c comes first · key /k, line 2 of /m · from /w/machines, which Nix does not read',
  );
});
