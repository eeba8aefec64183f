// Whether the nix-daemon will take the builders a distributed build gives it. A daemon ignores
// `--builders` from a user it does not trust (it is a restricted setting: NixOS/nix 2.8.0
// src/libstore/daemon.cc, ClientSettings::apply, says so only at debug level; since 2.22 it
// warns "ignoring the client-specified setting 'builders', because it is a restricted setting
// and you are not a trusted user", commit 40a7929c8e). `-j0` (max-jobs) still reaches it, so the
// daemon hands every derivation to its *own* builders. We find out before the build and either
// build on those (saying so) or say that trust is what is missing.
import { readRegularFile } from '../model/regularFile';
import type { LocalMachineInfo } from '../protocol';

export type BuildersVerdict =
  | { kind: 'honoured' }
  /** The daemon ignores ours and builds on its own builders: `builders` is its setting. */
  | { kind: 'daemon-builders'; builders: string; message: string }
  /** The daemon ignores ours and has none of its own: the build cannot start. */
  | { kind: 'refused'; message: string };

/** Machines lines in a builders value: inline lines, and the lines of each `@file` that can be read. */
function machineCount(builders: string): number {
  let count = 0;
  for (const part of builders.split(/[;\n]/)) {
    const entry = part.trim();
    if (entry === '' || entry.startsWith('#')) continue;
    if (!entry.startsWith('@')) {
      count++;
      continue;
    }
    // Nix reads a missing machines file as empty; a FIFO, a device or a huge file is not read.
    const read = readRegularFile(entry.slice(1), 16 * 1024 * 1024);
    const text = read.kind === 'text' ? read.text : '';
    count += text.split('\n').filter((line) => line.replace(/#.*/, '').trim() !== '').length;
  }
  return count;
}

const trustFix = (user: string) =>
  `Add \`extra-trusted-users = ${user}\` to /etc/nix/nix.conf and restart the nix-daemon (sudo systemctl restart nix-daemon), or put the builders in the daemon's own /etc/nix/machines.`;

export function buildersVerdict(local: LocalMachineInfo): BuildersVerdict {
  if (local.mode !== 'daemon' || local.trusted !== false) return { kind: 'honoured' };
  const why = `The nix-daemon does not trust ${local.user} (${local.trustedBy}), so it ignores the builders we give it (--builders).`;
  if (machineCount(local.builders) === 0) {
    return {
      kind: 'refused',
      message: `${why} It has no builders of its own (builders = ${local.builders || '(empty)'}), so with -j0 nothing can build. ${trustFix(local.user)}`,
    };
  }
  return {
    kind: 'daemon-builders',
    builders: local.builders,
    message: `${why} Building on the daemon's own builders instead (builders = ${local.builders} in /etc/nix/nix.conf).`,
  };
}

/** The failure of a build that ran on the daemon's builders: the cause, then Nix's words. */
export function onDaemonBuildersFailed(local: LocalMachineInfo, nixSays: string): string {
  return `The nix-daemon does not trust ${local.user}, so the build ran on the daemon's own builders (builders = ${local.builders}), not the ones given, and failed: ${nixSays} ${trustFix(local.user)}`;
}
