// The attributes of a `nix.buildMachines` entry as the NixOS module declares them (the same in
// nix-darwin, where speedFactor is an int): each one's type as the module names it, the test of
// that type on a literal, its default, and what it means, for the checks and the hovers.
import type { NixValue } from './nixValue';

export interface EntryOption {
  /** The type as NixOS writes it in its error ("not of type `null or string'"). */
  type: string;
  /** True when a literal of this kind passes the type; unknown values are not tested. */
  accepts: (value: NixValue) => boolean;
  /** The default, as written in Nix, or undefined when the option must be set. */
  default: string | undefined;
  /** What it is, in a sentence (after the module's description). */
  doc: string;
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
    doc: 'The host name of the builder (a name from ssh config works: ssh resolves it).',
  },
  protocol: {
    type: 'one of null, "ssh", "ssh-ng"',
    accepts: (v) => v.kind === 'null' || (v.kind === 'string' && (v.value === 'ssh' || v.value === 'ssh-ng')),
    default: '"ssh"',
    doc: 'How Nix talks to the builder: `ssh` (nix-store --serve) or `ssh-ng` (nix-daemon --stdio); null writes no scheme (the special localhost builder of Hydra).',
  },
  system: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    doc: 'The system type the builder builds for. Wins over `systems` when both are set.',
  },
  systems: {
    type: 'list of string',
    accepts: listOfStrings,
    default: '[ ]',
    doc: 'The system types the builder builds for; used when `system` is null.',
  },
  sshUser: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    doc: "The user to log in as on the builder; it must be in the builder's `nix.settings.trusted-users`.",
  },
  sshKey: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    doc: "The private key to log in with, without a passphrase, as a string naming a file outside the Nix store. Null: the building user's (root's) own ssh config.",
  },
  maxJobs: {
    type: 'signed integer',
    accepts: (v) => v.kind === 'int',
    default: '1',
    doc: 'How many builds the builder runs at once.',
  },
  speedFactor: {
    type: 'positive integer or floating point number, meaning >0',
    accepts: (v) => (v.kind === 'int' && v.value > 0n) || (v.kind === 'float' && v.value > 0),
    default: '1',
    doc: 'How fast the builder is, relative to the others: Nix prefers the higher. A float is written `1.500000`, which Nix before 2.20 refuses; nix-darwin takes only an integer.',
  },
  supportedFeatures: {
    type: 'list of string',
    accepts: listOfStrings,
    default: '[ ]',
    doc: 'The features the builder has (`kvm`, `big-parallel`, `nixos-test`, `benchmark`): a derivation that needs one it lacks is not sent there.',
  },
  mandatoryFeatures: {
    type: 'list of string',
    accepts: listOfStrings,
    default: '[ ]',
    doc: 'Features a derivation must require to be sent to this builder; NixOS adds them to the supported features.',
  },
  publicHostKey: {
    type: 'null or string',
    accepts: nullOrString,
    default: 'null',
    doc: "The builder's host key: the base64 of the whole `ssh_host_…_key.pub` line (`base64 -w0 /etc/ssh/ssh_host_ed25519_key.pub`), not the bare key. Null: the known_hosts files.",
  },
};
