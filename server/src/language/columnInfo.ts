// What each column of a machines line is, in the user's words: the one table hovers, completion
// details and inlay hints read, so they all name a column the same way.
import type { MachineColumns } from '../model/machines';

export type ColumnName = keyof MachineColumns;

export interface ColumnInfo {
  name: ColumnName;
  /** 1-based, as the docs and messages count. */
  number: number;
  /** As a heading: "maxJobs". */
  title: string;
  /** Short, for inlay hints. */
  short: string;
  meaning: string;
  /** What Nix uses when the column is `-`, empty or absent. */
  default: string;
}

export const columnInfo: readonly ColumnInfo[] = [
  {
    name: 'storeUri',
    number: 1,
    title: 'store URI',
    short: 'uri',
    meaning:
      'The builder Nix connects to: `ssh://[user@]host` (Nix runs `nix-store --serve` there) or `ssh-ng://[user@]host` (Nix runs `nix-daemon --stdio`). A bare `host` means `ssh://host`. Query parameters such as `?remote-program=` are store settings.',
    default: 'required (`-` is an error)',
  },
  {
    name: 'systems',
    number: 2,
    title: 'systems',
    short: 'systems',
    meaning:
      'The system types this machine builds for, comma-separated. A derivation goes here only when its `system` is in this list.',
    default: "the local `system` setting (this machine's own platform)",
  },
  {
    name: 'sshKey',
    number: 3,
    title: 'SSH identity file',
    short: 'ssh key',
    meaning:
      'The private key Nix passes to ssh with `-i`. Under a nix-daemon, root runs ssh: the key must be readable by root and have no passphrase.',
    default: "ssh's own identities (ssh_config `IdentityFile`, `~/.ssh/id_*`, the agent)",
  },
  {
    name: 'maxJobs',
    number: 4,
    title: 'maxJobs',
    short: 'maxJobs',
    meaning: 'How many builds Nix runs on this machine at once (its job slots). 0 means Nix never uses it.',
    default: '1',
  },
  {
    name: 'speedFactor',
    number: 5,
    title: 'speedFactor',
    short: 'speed',
    meaning:
      'How fast the machine is relative to the others: among free machines Nix picks the lowest `load / speedFactor`, ties going to the higher speedFactor.',
    default: '1',
  },
  {
    name: 'supportedFeatures',
    number: 6,
    title: 'supported features',
    short: 'features',
    meaning:
      'System features the machine offers, comma-separated. A derivation whose `requiredSystemFeatures` are all here (or in column 7) may come here.',
    default: 'none',
  },
  {
    name: 'mandatoryFeatures',
    number: 7,
    title: 'mandatory features',
    short: 'mandatory',
    meaning:
      'Features a derivation must require to be built here: only derivations asking for all of them come to this machine. They count as supported too.',
    default: 'none',
  },
  {
    name: 'publicHostKey',
    number: 8,
    title: 'public host key',
    short: 'host key',
    meaning:
      "The builder's SSH host key: base64 of the whole public key line (`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub`). ssh then trusts exactly this key for the host.",
    default: 'none: ssh checks known_hosts of whoever runs it (root under a nix-daemon)',
  },
];

/** What a system feature means, for hovers and completion details. */
const featureMeanings: Readonly<Record<string, string>> = {
  kvm: 'The machine has `/dev/kvm`: builds that boot virtual machines (NixOS tests, VM images) need it.',
  'big-parallel':
    'Large builds that use many cores (the kernel, Chromium, LLVM, GHC) ask for it: give it to machines with many cores.',
  'nixos-test': 'NixOS integration tests (they start VMs, so usually together with kvm).',
  benchmark: 'Builds that measure performance and want the machine to themselves.',
  'apple-virt':
    "macOS Virtualization.framework: darwin builders that can run Linux VMs (such as nix-darwin's linux-builder).",
  'ca-derivations': 'Content-addressed derivations (experimental feature `ca-derivations`).',
  'recursive-nix': 'Builds that call Nix themselves (experimental feature `recursive-nix`).',
  'uid-range': 'Builds that need a range of user ids, such as containers and systemd-nspawn (`auto-allocate-uids`).',
};

export function describeFeature(feature: string): string | undefined {
  const known = featureMeanings[feature];
  if (known !== undefined) return known;
  const arch = /^gccarch-(.+)$/.exec(feature);
  if (arch)
    return `Builds optimised for the CPU architecture \`${arch[1]}\` (nixpkgs sets \`gccarch-*\` features from \`hostPlatform.gcc.arch\`).`;
  return undefined;
}
