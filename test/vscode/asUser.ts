// The VS Code runs as a normal user of a multi-user install (issue 12): code-server, the
// extension, its language server and their Nix run as nixrb-untrusted (or nixrb-trusted) inside
// the lab's client nix-daemon namespace (test/system/fixture/clientDaemon.ts), whose Nix goes
// through that root nix-daemon and whose /etc/nix is the daemon's. The daemon's own builders
// are the lab's healthy builder; the user's ~/.ssh reaches it too.
//
// File permissions: the repository, node_modules and the code-server cache (.vscode-test, root's)
// are world-readable (0755/0644) and only read, so the user runs them in place; what it writes is
// its run folder (chowned to it here), its home (the namespace's own) and its screenshots folder.
import { chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuilderLab } from '../system/fixture';
import { startClientDaemon, type ClientDaemon, type ClientUserName } from '../system/fixture/clientDaemon';

const root = resolve(__dirname, '../..');

/** The lab's client nix-daemon, whose own builder is `healthy`. */
export function startClientSide(lab: BuilderLab<'healthy'>): Promise<ClientDaemon> {
  return startClientDaemon(lab as never, { machines: `ssh://${lab.builders.healthy.alias} ${lab.system}\n` });
}

/** Hands `dir` and everything in it to `user`: the run folder code-server and the suite write in. */
export function giveTo(client: ClientDaemon, user: ClientUserName, dir: string): void {
  const { uid } = client.users[user];
  const walk = (path: string) => {
    chownSync(path, uid, uid);
    if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
}

/** The folder the run's screenshots go in, made and owned by `user` (the launcher writes them as it). */
export function resultsDirFor(client: ClientDaemon, user: ClientUserName, dir: string): string {
  mkdirSync(dir, { recursive: true });
  giveTo(client, user, dir);
  return dir;
}

/**
 * What runTests.ts gives the run as `user`: the executable to start (launcherAsUser.mjs), and
 * the environment that tells it how to enter the namespace as the user. The suite's other
 * variables pass through; NIX_CONF_DIR and the like do not: the user's Nix reads the daemon's
 * /etc/nix, as on a real install.
 */
export function launchAs(
  client: ClientDaemon,
  user: ClientUserName,
): { executable: string; env: Record<string, string> } {
  const [program, args] = client.commandAs(user, process.execPath, [join(root, 'test/vscode/codeServer/launcher.mjs')]);
  const env = Object.fromEntries(
    Object.entries(client.userEnv(user)).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return {
    executable: join(root, 'test/vscode/codeServer/launcherAsUser.mjs'),
    env: { NIX_BUILDERS_LAUNCH_AS: JSON.stringify({ command: [program, ...args], env }), NIX_BUILDERS_AS_USER: user },
  };
}

/** The user's ssh config as the extension inside the namespace sees it. */
export function sshConfigOf(client: ClientDaemon, user: ClientUserName): string {
  return client.users[user].sshConfig;
}
