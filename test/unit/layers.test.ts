// No import runs up the layers. The server context (trust, settings, the Nix followed here,
// file reading) sits at the bottom with the model: it imports no service. The services below
// the editor (builders/, health/, dispatch/) and the CLI take settings, the Nix target and file
// reading from context/, never from language/; the one language module the CLI may use is the
// analysis itself, which `nix-builders check` prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { importsOf, tsFiles } from './helpers/imports';

const root = resolve(__dirname, '../..');
const src = join(root, 'server/src');

/** `from` imports `to` (both relative to server/src, without .ts) for every relative import under `folder`. */
function edges(folder: string): { from: string; to: string }[] {
  const files = tsFiles(join(src, folder));
  assert.ok(files.length > 0, `${folder}/ was walked`);
  return files.flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({
        from: relative(src, file).replace(/\.ts$/, ''),
        to: relative(src, resolve(dirname(file), specifier)),
      })),
  );
}

const inFolder = (path: string, folder: string) => path.startsWith(`${folder}/`);

test('context/ imports only itself and model/: no service, no protocol', () => {
  const all = edges('context');
  assert.ok(
    all.some((e) => inFolder(e.to, 'model')),
    'context/ was read: it uses the model',
  );
  assert.deepEqual(
    all.filter((e) => !inFolder(e.to, 'context') && !inFolder(e.to, 'model')),
    [],
  );
});

test('model/ imports only itself', () => {
  assert.deepEqual(
    edges('model').filter((e) => !inFolder(e.to, 'model')),
    [],
  );
});

for (const folder of ['builders', 'health', 'dispatch']) {
  test(`${folder}/ imports nothing from language/`, () => {
    assert.deepEqual(
      edges(folder).filter((e) => inFolder(e.to, 'language')),
      [],
    );
  });
}

test('cli/ imports from language/ only the analysis that `check` prints', () => {
  const all = edges('cli');
  assert.ok(
    all.some((e) => inFolder(e.to, 'context')),
    'cli/ was read: it takes its context from context/',
  );
  assert.deepEqual(
    all.filter((e) => inFolder(e.to, 'language') && e.to !== 'language/analysis'),
    [],
  );
});
