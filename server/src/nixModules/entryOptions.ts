// The attributes of a `nix.buildMachines` entry as the NixOS module declares them (the same in
// nix-darwin, where speedFactor is an int): each one's type as the module names it, the test of
// that type on a literal, its default, what it means, and where it lands in the machines line,
// for the checks, the hovers and completion. `description` is the module's own text
// (nixpkgs nixos/modules/config/nix-remote-build.nix at 082d7bfc0ee52105bbb19d5035eae68608ebd242).
import type { NixValue } from './nixValue';

export interface EntryOption {
  /** The type as NixOS writes it in its error ("not of type `null or string'"). */
  type: string;
  /** True when a literal of this kind passes the type; unknown values are not tested. */
  accepts: (value: NixValue) => boolean;
  /** The default, as written in Nix, or undefined when the option must be set. */
  default: string | undefined;
  /** The module's own description, as NixOS documents the option. */
  description: string;
  /** What it is, in a sentence (after the module's description). */
  doc: string;
  /** Where NixOS writes it in the machines line, in words. */
  inLine: string;
}

const isString = (v: NixValue) => v.kind === 'string';
const nullOrString = (v: NixValue) => v.kind === 'string' || v.kind === 'null';
const listOfStrings = (v: NixValue) =>
  v.kind === 'list' && v.items.every((i) => i.value.kind === 'string' || i.value.kind === 'unknown');

export const entryOptions: Record<string, EntryOption> = {
  hostName: {
    type: 'string',
    accepts: isString,
    default: undefined,
    description: 'The hostname of the build machine.',
    doc: 'The host name of the builder (a name from ssh config works: ssh resolves it).',
    inLine: 'Column 1, the store URI: `[protocol://][sshUser@]hostName`.',
  },
  protocol: {
    type: 'one of null, "ssh", "ssh-ng"',
    accepts: (v) => v.kind === 'null' || (v.kind === 'string' && (v.value === 'ssh' || v.value === 'ssh-ng')),
    default: '"ssh"',
    description:
      'The protocol used for communicating with the build machine. Use `ssh-ng` if your remote builder and your local Nix version support that improved protocol. Use `null` when trying to change the special localhost builder without a protocol which is for example used by hydra.',
    doc: 'How Nix talks to the builder: `ssh` (nix-store --serve) or `ssh-ng` (nix-daemon --stdio); null writes no scheme (the special localhost builder of Hydra).',
    inLine: 'Column 1: the scheme in front of the host, `ssh://` or `ssh-ng://`; null writes none.',
  },
  system: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    description:
      'The system type the build machine can execute derivations on. Either this attribute or `systems` must be present, where `system` takes precedence if both are set.',
    doc: 'One system type, for a builder that builds for one: `system = "x86_64-linux";`. It wins over `systems` when both are set (the list is then not used); set one of the two.',
    inLine: 'Column 2 (the systems), alone: when set, `systems` is not written.',
  },
  systems: {
    type: 'list of string',
    accepts: listOfStrings,
    default: '[ ]',
    description:
      'The system types the build machine can execute derivations on. Either this attribute or `system` must be present, where `system` takes precedence if both are set.',
    doc: 'Several system types, for a builder that builds for more than one (`[ "x86_64-linux" "i686-linux" ]`, or aarch64-linux by emulation): used only when `system` is null; set one of the two.',
    inLine: 'Column 2 (the systems), joined with `,`, when `system` is null; `-` when empty.',
  },
  sshUser: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    description:
      'The username to log in as on the remote host. This user must be able to log in and run nix commands non-interactively. It must also be privileged to build derivations, so must be included in `nix.settings.trusted-users`.',
    doc: "The user to log in as on the builder; it must be in the builder's `nix.settings.trusted-users`.",
    inLine: 'Column 1: `sshUser@` in front of the host; null writes no user (ssh picks one).',
  },
  sshKey: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    description:
      'The path to the SSH private key with which to authenticate on the build machine. The private key must not have a passphrase. If null, the building user (root on NixOS machines) must have an appropriate ssh configuration to log in non-interactively. Note that for security reasons, this path must point to a file in the local filesystem, *not* to the nix store.',
    doc: "The private key to log in with, without a passphrase, as a string naming a file outside the Nix store. Null: the building user's (root's) own ssh config.",
    inLine: 'Column 3 (the SSH key); null writes `-`.',
  },
  maxJobs: {
    type: 'signed integer',
    accepts: (v) => v.kind === 'int',
    default: '1',
    description:
      'The number of concurrent jobs the build machine supports. The build machine will enforce its own limits, but this allows hydra to schedule better since there is no work-stealing between build machines.',
    doc: 'How many builds the builder runs at once.',
    inLine: 'Column 4 (maximum jobs), as `toString` writes it.',
  },
  speedFactor: {
    type: 'positive integer or floating point number, meaning >0',
    accepts: (v) => (v.kind === 'int' && v.value > 0n) || (v.kind === 'float' && v.value > 0),
    default: '1',
    description:
      'The relative speed of this builder. This is an arbitrary positive number that indicates the speed of this builder, relative to other builders. Higher is faster.',
    doc: 'How fast the builder is, relative to the others: Nix prefers the higher. A float is written `1.500000`, which Nix before 2.20 refuses; nix-darwin takes only an integer.',
    inLine: 'Column 5 (speed factor), as `toString` writes it: `2`, or `1.500000` for 1.5.',
  },
  supportedFeatures: {
    type: 'list of string',
    accepts: listOfStrings,
    default: '[ ]',
    description:
      'A list of features supported by this builder. The builder will be ignored for derivations that require features not in this list.',
    doc: 'The features the builder has (`kvm`, `big-parallel`, `nixos-test`, `benchmark`): a derivation that needs one it lacks is not sent there.',
    inLine:
      'Column 6 (supported features), with `mandatoryFeatures` after them, joined with `,`; `-` when both are empty.',
  },
  mandatoryFeatures: {
    type: 'list of string',
    accepts: listOfStrings,
    default: '[ ]',
    description:
      "A list of features mandatory for this builder. The builder will be ignored for derivations that don't require all features in this list. All mandatory features are automatically included in `supportedFeatures`.",
    doc: 'Features a derivation must require to be sent to this builder; NixOS adds them to the supported features.',
    inLine: 'Column 7 (mandatory features), joined with `,`, and again at the end of column 6; `-` when empty.',
  },
  publicHostKey: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    description:
      'The (base64-encoded) public host key of this builder. The field is calculated via `base64 -w0 /etc/ssh/ssh_host_type_key.pub`. If null, SSH will use its regular known-hosts file when connecting.',
    doc: "The builder's host key: the base64 of the whole `ssh_host_…_key.pub` line (`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub`), not the bare key. Null: the known_hosts files.",
    inLine: 'Column 8 (the host key), written only for Nix 2.4 and later; null writes `-`.',
  },
};
