// The nix.conf settings remote builds depend on, with what they do and their defaults (Nix 2.8's
// `nix show-config` and manual): the text of completion items and hovers in nix.conf.

export interface SettingDoc {
  name: string;
  default: string;
  doc: string;
}

export const remoteBuildSettingDocs: readonly SettingDoc[] = [
  {
    name: 'builders',
    default: '@/etc/nix/machines',
    doc: 'The machines Nix may build on: entries separated by `;` (or newlines in a machines file), each `URI systems key maxJobs speedFactor features mandatory hostKey`; `@FILE` includes a machines file. In nix.conf the whole value must be on one line.',
  },
  {
    name: 'builders-use-substitutes',
    default: 'false',
    doc: "Let the builders fetch a build's inputs from their own substituters (binary caches) instead of receiving them from this machine. Speeds up builds when the builder's network is faster than the link to it.",
  },
  {
    name: 'max-jobs',
    default: '1',
    doc: 'How many builds run at once on this machine. `0` leaves every build to the remote builders; `auto` is one per CPU.',
  },
  {
    name: 'trusted-users',
    default: 'root',
    doc: 'Users who may change restricted settings such as `builders` through the nix-daemon. On a builder, the SSH user must be trusted, or input-addressed builds are refused.',
  },
  {
    name: 'allowed-users',
    default: '*',
    doc: 'Users who may connect to the nix-daemon at all.',
  },
  {
    name: 'system',
    default: "this machine's platform, e.g. x86_64-linux",
    doc: 'The system type of this machine: the systems of a builder whose column 2 is `-`, and what builds locally.',
  },
  {
    name: 'extra-platforms',
    default: '(empty; i686-linux on x86_64-linux where it can run)',
    doc: 'Other system types this machine can build for itself (e.g. with binfmt emulation), so they need no remote builder.',
  },
  {
    name: 'system-features',
    default: 'nixos-test benchmark big-parallel (and kvm when /dev/kvm exists)',
    doc: "Features this machine offers for local builds. A derivation's `requiredSystemFeatures` must be among them to build here.",
  },
  {
    name: 'require-sigs',
    default: 'true',
    doc: 'Only accept store paths signed by a key in `trusted-public-keys`. Outputs copied back from builders are signed only if the builder signs them, or the SSH user is trusted there.',
  },
  {
    name: 'trusted-public-keys',
    default: 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=',
    doc: 'Public keys whose signatures Nix accepts on store paths.',
  },
  {
    name: 'substituters',
    default: 'https://cache.nixos.org/',
    doc: 'Binary caches Nix fetches build results from instead of building.',
  },
  {
    name: 'connect-timeout',
    default: '0 (no timeout)',
    doc: 'Seconds to wait when connecting to a binary cache. It does not apply to SSH builders: set `ConnectTimeout` in the ssh config (or `NIX_SSHOPTS`) for them.',
  },
  {
    name: 'build-hook',
    default: 'nix __build-remote',
    doc: 'The program Nix runs to hand builds to remote machines. Leave it alone.',
  },
  {
    name: 'cores',
    default: '0 (all cores)',
    doc: 'Cores each local build may use (`NIX_BUILD_CORES`). Builders use their own setting.',
  },
];

const byName = new Map(remoteBuildSettingDocs.map((d) => [d.name, d]));

export function settingDoc(name: string): SettingDoc | undefined {
  return byName.get(name.startsWith('extra-') ? name.slice('extra-'.length) : name);
}
