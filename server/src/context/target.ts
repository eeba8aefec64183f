// The Nix a document is checked against: the version set in `nixBuilders.nixVersion`, or the
// one installed here, with the other local facts the checks need (system, daemon, key home).
import { newestKnownNix, type LocalNix } from './localNix';
import { formatNixVersion, parseNixVersion, rulesFor, type NixVersion, type VersionRules } from '../model/nixVersion';

export interface NixTarget {
  version: NixVersion;
  rules: VersionRules;
  /** Where the version came from, for hovers and the log ("Nix 2.8.0 (installed)"). */
  describe: string;
  localSystem: string;
  daemon: boolean;
  keyHome: string;
}

/** `setting` is `nixBuilders.nixVersion`: `auto` or a version such as `2.8` or `2.24.3`. */
export function nixTarget(setting: string | undefined, local: LocalNix): NixTarget {
  const chosen = setting && setting !== 'auto' ? parseNixVersion(setting) : undefined;
  const version = chosen ?? local.version ?? newestKnownNix;
  const describe = chosen
    ? `Nix ${formatNixVersion(version)} (nixBuilders.nixVersion)`
    : local.version
      ? `Nix ${formatNixVersion(version)} (installed)`
      : `Nix ${formatNixVersion(version)} (no Nix found here; set nixBuilders.nixVersion to check against another version)`;
  return {
    version,
    rules: rulesFor(version),
    describe,
    localSystem: local.system,
    daemon: local.daemon,
    keyHome: local.keyHome,
  };
}
