// "Rebuild to apply": which machines lines a rebuild would add, drop or change, what counts as a
// generated machines file (a link into the Nix store, as NixOS and nix-darwin make it), and the
// view's declared builders reading again only the .nix file that changed on disk.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Builder } from '../../server/src/builders/effectiveBuilders';
import { readTextOrUndefined } from '../../server/src/context/readFile';
import { nixTarget } from '../../server/src/context/target';
import { DeclaredBuilders } from '../../server/src/nixModules/declaredBuilders';
import {
  compareMachines,
  generatedMachinesFile,
  machinesLines,
  rebuildCommand,
} from '../../server/src/nixModules/rebuildToApply';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-rebuild-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const target = nixTarget('2.8', {
  version: undefined,
  versionText: undefined,
  system: 'x86_64-linux',
  daemon: false,
  keyHome: '/root',
});

test('lines for the same builder with other columns are changed; the rest new or gone', () => {
  const generated = machinesLines(
    'ssh://nix@big x86_64-linux - 4 1 - - -\nssh://old x86_64-linux - 1 1 - - -\n\nssh://same aarch64-linux - 1 1 - - -\n',
  );
  assert.deepEqual(
    compareMachines(
      [
        'ssh://same aarch64-linux - 1 1 - - -',
        'ssh://nix@big x86_64-linux - 8 1 - - -',
        'ssh://arm aarch64-linux - 1 1 - - -',
      ],
      generated,
    ),
    {
      added: ['ssh://arm aarch64-linux - 1 1 - - -'],
      gone: ['ssh://old x86_64-linux - 1 1 - - -'],
      changed: [{ from: 'ssh://nix@big x86_64-linux - 4 1 - - -', to: 'ssh://nix@big x86_64-linux - 8 1 - - -' }],
    },
  );
  // A builder another file of the workspace declares (in any form) is not gone because this file lacks it.
  assert.deepEqual(
    compareMachines(
      ['ssh://nix@big x86_64-linux - 4 1 - - -'],
      generated,
      new Set(['ssh://old x86_64-linux - 2 1 - - -']),
    ).gone,
    ['ssh://same aarch64-linux - 1 1 - - -'],
  );
});

test('only a link that resolves into the Nix store is a generated machines file', () => {
  const store = join(dir, 'store');
  mkdirSync(store);
  writeFileSync(join(store, 'abc-machines'), 'ssh://a x86_64-linux - 1 1 - - -\n');
  symlinkSync(join(store, 'abc-machines'), join(dir, 'generated'));
  writeFileSync(join(dir, 'plain'), 'ssh://a x86_64-linux - 1 1 - - -\n');
  symlinkSync(join(dir, 'plain'), join(dir, 'link-elsewhere'));
  assert.deepEqual(generatedMachinesFile(join(dir, 'generated'), store), {
    path: join(dir, 'generated'),
    text: 'ssh://a x86_64-linux - 1 1 - - -\n',
  });
  assert.equal(generatedMachinesFile(join(dir, 'plain'), store), undefined, 'a file written by hand');
  assert.equal(generatedMachinesFile(join(dir, 'link-elsewhere'), store), undefined, 'a link out of the store');
  assert.equal(generatedMachinesFile(join(dir, 'missing'), store), undefined);
});

test('the fix is the rebuild of the system this machine runs', () => {
  assert.equal(rebuildCommand('x86_64-linux'), 'sudo nixos-rebuild switch');
  assert.equal(rebuildCommand('aarch64-darwin'), 'darwin-rebuild switch');
});

test('a listing reads again only the .nix file that changed on disk', async () => {
  const workspace = mkdtempSync(join(dir, 'workspace-'));
  const entry = (host: string) => `{ nix.buildMachines = [ { hostName = "${host}"; system = "x86_64-linux"; } ]; }\n`;
  for (let i = 0; i < 20; i++) writeFileSync(join(workspace, `host${i}.nix`), entry(`builder${i}`));
  writeFileSync(join(workspace, 'other.nix'), '{ pkgs, ... }: { services.openssh.enable = true; }\n');
  const read: string[] = [];
  const declared = new DeclaredBuilders((file) => (read.push(file), readTextOrUndefined(file)));
  const list = async () =>
    (await declared.sources(target, [workspace], new Map<string, Builder>(), undefined, join(dir, 'none'))).flatMap(
      (source) => source.machines.map((m) => m.uri),
    );
  assert.equal((await list()).length, 20);
  assert.equal(read.length, 21, 'the first listing reads every .nix file');

  read.length = 0;
  await list();
  assert.deepEqual(read, [], 'nothing changed: nothing read');

  writeFileSync(join(workspace, 'host7.nix'), entry('renamed'));
  const after = await list();
  assert.deepEqual(read, [join(workspace, 'host7.nix')], 'only the changed file is read');
  assert.ok(after.includes('ssh://renamed') && !after.includes('ssh://builder7'), after.join(' '));
});
