#!/usr/bin/env node
// Stands in for the VS Code executable in runTests.ts's runs as a normal user: starts
// launcher.mjs (code-server and Chromium) as that user inside the lab's client nix-daemon
// namespace (test/system/fixture/clientDaemon.ts), so the extension, its language server and
// every Nix they run are that user's, going through the lab's root nix-daemon as on a
// multi-user install. runTests.ts puts in NIX_BUILDERS_LAUNCH_AS the command line that enters
// the namespace as the user (clientDaemon's commandAs) and the user's clean environment.
//
// Of the environment @vscode/test-electron hands us (root's, plus the suite's), only the
// suite's NIX_BUILDERS_* and the DNS seal pass through: root's HOME, NIX_* or ssh agent would
// make the run something other than that user's.
import { spawn } from 'node:child_process';

const launchAs = JSON.parse(process.env.NIX_BUILDERS_LAUNCH_AS ?? 'null');
if (!launchAs) {
  console.error('launcherAsUser.mjs: NIX_BUILDERS_LAUNCH_AS is not set (runTests.ts sets it for a run as a user)');
  process.exit(1);
}
const passed = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      (name.startsWith('NIX_BUILDERS_') && name !== 'NIX_BUILDERS_LAUNCH_AS') ||
      name === 'NIXRB_DNS_SEALED' ||
      name === 'CHROMIUM_PATH',
  ),
);
const [program, ...args] = launchAs.command;
// No shell: each argument reaches the program as it is.
const child = spawn(program, [...args, ...process.argv.slice(2)], {
  env: { ...launchAs.env, ...passed },
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
