// Whether a nix-daemon trusts (or even accepts) a user, worked out as the daemon does it when
// Nix cannot tell us (before 2.15 no command reports trust). The rule is the daemon's
// `matchUser` (NixOS/nix 2.8.0 src/nix/daemon.cc; 2.34 keeps it in src/nix/unix/daemon.cc):
// `*` matches anyone, a name matches that user, `@group` matches the connecting process's
// primary group by name or a group whose member list (getgrnam's gr_mem) names the user.
import { execFile } from 'node:child_process';

export interface Account {
  user: string;
  /** The name of the process's primary group (what the daemon reads from the socket's peer gid). */
  primaryGroup: string;
}

/** The members of a group as NSS lists them (getent group), or [] when there is no such group. */
export type GroupMembers = (group: string) => Promise<string[]>;

export const groupMembersFromSystem: GroupMembers = (group) =>
  new Promise((resolve) => {
    execFile('getent', ['group', group], { timeout: 5000, encoding: 'utf8' }, (error, stdout) => {
      if (error) return resolve([]);
      const members = stdout.trim().split(':')[3] ?? '';
      resolve(members.split(',').filter((name) => name !== ''));
    });
  });

/** Which entry of `users` (a trusted-users or allowed-users list) lets `account` in, if any. */
export async function matchingEntry(
  account: Account,
  users: readonly string[],
  members: GroupMembers = groupMembersFromSystem,
): Promise<string | undefined> {
  if (users.includes('*')) return '*';
  if (users.includes(account.user)) return account.user;
  for (const entry of users) {
    if (!entry.startsWith('@')) continue;
    const group = entry.slice(1);
    if (group === account.primaryGroup) return entry;
    if ((await members(group)).includes(account.user)) return entry;
  }
  return undefined;
}
