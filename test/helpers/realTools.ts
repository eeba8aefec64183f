// For unit tests that use a real tool as their oracle (ssh -G, ssh-keygen, nix-daemon): outside
// CI a missing tool skips the test loudly; in CI (CI=true) the test file fails instead, naming
// the Debian package, as testing.md asks of every tier.
import { spawnSync } from 'node:child_process';

/** Whether `command args` runs at all (its exit code does not matter). */
export function hasCommand(command: string, args: string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).error === undefined;
}

/** `false` when the tool is there; else the skip reason (outside CI) or a thrown error (in CI). */
export function skipWithout(available: boolean, what: string, debianPackage: string): false | string {
  if (available) return false;
  const message = `${what} is missing (Debian package ${debianPackage})`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${message}`);
  process.stderr.write(`\nSKIPPING: ${message}\n\n`);
  return message;
}
