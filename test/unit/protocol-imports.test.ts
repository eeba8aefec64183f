// The protocol owns what crosses the wire: protocol.ts imports only the LSP protocol package
// (and its own node:crypto-only sealedSecret.ts), and the client reaches into the server for
// protocol.ts only, so the client bundle holds no other server module.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { importsOf, tsFiles } from './helpers/imports';

const root = resolve(__dirname, '../..');
const protocolFile = join(root, 'server/src/protocol.ts');

test('protocol.ts imports only the LSP protocol package and ./sealedSecret', () => {
  const imports = new Set(importsOf(readFileSync(protocolFile, 'utf8')));
  assert.deepEqual([...imports].sort(), ['./sealedSecret', 'vscode-languageserver-protocol']);
});

test('sealedSecret.ts, which the client gets with protocol.ts, imports only node:crypto', () => {
  const imports = new Set(importsOf(readFileSync(join(root, 'server/src/sealedSecret.ts'), 'utf8')));
  assert.deepEqual([...imports], ['node:crypto']);
});

test('no file under client/src imports a server module other than server/src/protocol', () => {
  const files = tsFiles(join(root, 'client/src'));
  assert.ok(files.length > 5, 'client/src was walked');
  const offending: string[] = [];
  for (const file of files) {
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), specifier));
      if (target.startsWith('client/')) continue;
      if (target !== 'server/src/protocol') offending.push(`${relative(root, file)} imports ${specifier}`);
    }
  }
  assert.deepEqual(offending, []);
});

test('the client bundle holds no server module but protocol.ts and sealedSecret.ts', async () => {
  const result = await build({
    entryPoints: [join(root, 'client/src/extension.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
    write: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
  });
  const serverInputs = Object.keys(result.metafile.inputs).filter((input) => input.startsWith('server/'));
  assert.deepEqual(serverInputs.sort(), ['server/src/protocol.ts', 'server/src/sealedSecret.ts']);
});
