// Bundles the extension with esbuild: the client (VS Code extension host), the language server,
// the CLI (a launcher and its bundle), and the in-VS Code test suite. Type-checking is `npm run typecheck` (tsc), kept
// separate so a build stays fast.
import * as esbuild from 'esbuild';
import { rmSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// ssh2 loads these optional native parts inside try/catch and falls back to pure JS:
// leaving them out keeps the bundle portable (no .node file for one platform in the .vsix).
const ssh2Optional = ['cpu-features', '*/crypto/build/Release/sshcrypto.node'];

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const builds = [
  { ...common, entryPoints: { client: 'client/src/extension.ts' }, outdir: 'dist', external: ['vscode'] },
  { ...common, entryPoints: { server: 'server/src/server.ts' }, outdir: 'dist', external: ssh2Optional },
  // The CLI: `dist/cli.js` (the `nix-builders` bin) is a few lines that load the bundle
  // `dist/cli-main.js` with V8's code cache (server/src/cliLauncher.ts says why and how safely).
  { ...common, entryPoints: { 'cli-main': 'server/src/cli.ts' }, outdir: 'dist', external: ssh2Optional },
  {
    ...common,
    entryPoints: { cli: 'server/src/cliLauncher.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  },
];
if (!production) {
  // The mocha suite that runs inside VS Code's extension host (CommonJS, `vscode` provided there).
  builds.push({
    ...common,
    entryPoints: ['test/vscode/suite/index.ts', 'test/vscode/suite/*.test.ts'],
    outdir: 'out/test/vscode/suite',
    bundle: true,
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
  });
}

rmSync('dist', { recursive: true, force: true });
if (watch) {
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
  console.log('esbuild: watching for changes');
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
