// The nix.conf setting names Nix knows. Nix prints `warning: unknown setting 'NAME'` for any
// other name and goes on without it, so a misspelt `buidlers` quietly leaves you with no remote
// builders. The list is Nix 2.8's (`nix show-config`) plus names added later and old aliases.

/** The settings that decide where and how builds are offloaded: misspelling one is a warning. */
export const remoteBuildSettings = [
  'builders',
  'builders-use-substitutes',
  'max-jobs',
  'trusted-users',
  'allowed-users',
  'system',
  'extra-platforms',
  'system-features',
  'require-sigs',
  'trusted-public-keys',
  'substituters',
  'connect-timeout',
  'build-hook',
  'cores',
] as const;

/** `nix show-config` of Nix 2.8.0. */
const nix2_8Settings = `accept-flake-config access-tokens allow-dirty allow-import-from-derivation allow-new-privileges
allow-symlinked-store allow-unsafe-native-code-during-evaluation allowed-impure-host-deps allowed-uris allowed-users
auto-optimise-store bash-prompt bash-prompt-suffix build-hook build-poll-interval build-users-group builders
builders-use-substitutes commit-lockfile-summary compress-build-log connect-timeout cores diff-hook download-attempts
enforce-determinism eval-cache experimental-features extra-platforms fallback filter-syscalls flake-registry
fsync-metadata gc-reserved-space hashed-mirrors http-connections http2 ignored-acls impersonate-linux-26 keep-build-log
keep-derivations keep-env-derivations keep-failed keep-going keep-outputs log-lines max-build-log-size max-free max-jobs
max-silent-time min-free min-free-check-interval nar-buffer-size narinfo-cache-negative-ttl narinfo-cache-positive-ttl
netrc-file nix-path plugin-files post-build-hook pre-build-hook preallocate-contents print-missing pure-eval repeat
require-sigs restrict-eval run-diff-hook sandbox sandbox-build-dir sandbox-dev-shm-size sandbox-fallback sandbox-paths
secret-key-files show-trace stalled-download-timeout store substitute substituters sync-before-registering system
system-features tarball-ttl timeout trace-function-calls trusted-public-keys trusted-substituters trusted-users
use-case-hack use-registries use-sqlite-wal user-agent-suffix warn-dirty`;

/** Settings of newer Nix versions, and the aliases older configurations still use. */
const laterSettingsAndAliases = `always-allow-substitutes auto-allocate-uids build-dir debugger-on-trace debugger-on-warn
download-buffer-size download-speed eval-system fsync-store-paths id-count ignore-try json-log-path keep-env-derivations
lint-url-literals lint-short-path-literals max-call-depth max-substitution-jobs pasta-path plugin-files
print-missing restrict-eval sandbox-paths ssl-cert-file start-id trace-import-from-derivation
upgrade-nix-store-path-url use-cgroups use-xdg-base-directories warn-large-path-threshold
build-max-jobs build-cores build-max-silent-time build-timeout build-max-log-size build-use-sandbox build-use-chroot
build-sandbox-paths build-chroot-dirs build-extra-sandbox-paths build-extra-chroot-dirs build-repeat build-keep-log
build-compress-log build-fallback binary-caches binary-cache-public-keys trusted-binary-caches env-keep-derivations
gc-keep-outputs gc-keep-derivations use-substitutes build-use-substitutes`;

export const knownSettings: ReadonlySet<string> = new Set(
  `${nix2_8Settings} ${laterSettingsAndAliases}`.split(/\s+/).filter(Boolean),
);

/** Whether `name` (possibly with `extra-`) is a setting Nix knows. */
export function isKnownSetting(name: string): boolean {
  return knownSettings.has(name.startsWith('extra-') ? name.slice('extra-'.length) : name);
}

/** Old names Nix 2.8.0 still accepts for its settings (checked: no "unknown setting" warning). */
const nix2_8Aliases = `build-max-jobs build-cores build-max-silent-time build-timeout build-max-log-size build-use-sandbox
build-use-chroot build-sandbox-paths build-chroot-dirs build-repeat build-keep-log build-compress-log build-fallback
binary-caches binary-cache-public-keys trusted-binary-caches env-keep-derivations gc-keep-outputs gc-keep-derivations
build-use-substitutes`;

/** Every name Nix 2.8.0 accepts without `warning: unknown setting` (checked on real 2.8.0). */
export const nix2_8KnownSettings: ReadonlySet<string> = new Set(
  `${nix2_8Settings} ${nix2_8Aliases}`.split(/\s+/).filter(Boolean),
);

/**
 * The settings `extra-NAME` appends to (list values), as Nix 2.8.0 has them (checked: for every
 * other 2.8 setting `extra-NAME` gives `warning: unknown setting 'extra-NAME'`).
 */
export const appendableSettings: ReadonlySet<string> = new Set(
  `access-tokens allowed-impure-host-deps allowed-uris allowed-users experimental-features extra-platforms hashed-mirrors
ignored-acls nix-path plugin-files sandbox-paths secret-key-files substituters system-features trusted-public-keys
trusted-substituters trusted-users build-sandbox-paths build-chroot-dirs binary-caches binary-cache-public-keys
trusted-binary-caches`
    .split(/\s+/)
    .filter(Boolean),
);
