// The two options around the builder entries, as the NixOS module declares them (nix-darwin
// has the same): `nix.buildMachines` and `nix.distributedBuilds`, for their hovers.
// `description` is the module's own text (nixpkgs nixos/modules/config/nix-remote-build.nix at
// 082d7bfc0ee52105bbb19d5035eae68608ebd242).

export interface ModuleOption {
  type: string;
  default: string;
  description: string;
  /** What it does to /etc/nix/machines and to Nix's `builders`, in words. */
  effect: string;
}

export const moduleOptions: Record<string, ModuleOption> = {
  'nix.buildMachines': {
    type: 'list of (submodule)',
    default: '[ ]',
    description:
      'This option lists the machines to be used if distributed builds are enabled (see `nix.distributedBuilds`). Nix will perform derivations on those machines via SSH by copying the inputs to the Nix store on the remote machine, starting the build, then copying the output back to the local Nix store.',
    effect:
      'NixOS writes one line per entry to /etc/nix/machines (nothing when the list is empty), whether or not distributed builds are on.',
  },
  'nix.distributedBuilds': {
    type: 'boolean',
    default: 'false',
    description: 'Whether to distribute builds to the machines listed in `nix.buildMachines`.',
    effect:
      'When false, NixOS still writes /etc/nix/machines but sets `builders` to null, so no build uses it; nix-darwin warns "nix.distributedBuilds is not enabled, build machines won\'t be configured."',
  },
};
