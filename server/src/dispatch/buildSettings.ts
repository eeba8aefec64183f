// The settings Nix's own build hook takes from this machine's configuration for a build on an
// ssh:// builder, read from the nix.conf chain as Nix reads it (configChain.ts):
//   max-silent-time, timeout, max-build-log-size, keep-failed
//       sent with every build: LegacySSHStore::buildDerivation (2.8.0
//       src/libstore/legacy-ssh-store.cc: `conn.to << settings.maxSilentTime <<
//       settings.buildTimeout`, then maxLogSize and keepFailed), `buildSettings()` in 2.26.3.
//       The builder's `nix-store --serve` builds with these, not with its own nix.conf's
//       (opServe's getBuildSettings), so a build with none sent would never time out;
//   builders-use-substitutes
//       whether the builder first fetches the inputs it lacks from its own caches (the copy's
//       `substitute` flag, 2.8.0 src/build-remote/build-remote.cc).
// The last value wins, through includes and NIX_CONFIG. A value Nix refuses (`timeout = soon`)
// stops Nix before it builds anything; here the default stands, and the lint says why.
import type { NixTarget } from '../context/target';
import { readUnsignedInt } from '../model/nixStrings';
import { confSources, readConfSource } from '../builders/configChain';
import type { ServeBuildOptions } from './serveSession';

export interface LocalBuildSettings extends Required<ServeBuildOptions> {
  useSubstitutes: boolean;
}

const defaults: LocalBuildSettings = {
  maxSilentTime: 0,
  buildTimeout: 0,
  maxLogSize: 0,
  keepFailed: false,
  useSubstitutes: false,
};

/** Nix's `BaseSetting<bool>::set` (2.8.0 src/libutil/config.cc). */
function readBool(value: string): boolean | undefined {
  if (value === 'true' || value === 'yes' || value === '1') return true;
  if (value === 'false' || value === 'no' || value === '0') return false;
  return undefined;
}

/** The old names Nix still takes for them (2.8.0 src/libstore/globals.hh). */
const aliases: ReadonlyMap<string, string> = new Map([
  ['build-max-silent-time', 'max-silent-time'],
  ['build-timeout', 'timeout'],
  ['build-max-log-size', 'max-build-log-size'],
]);

/** The build settings of the nix.conf chain Nix reads here (`env` for NIX_CONF_DIR and the rest). */
export function localBuildSettings(target: NixTarget, env: NodeJS.ProcessEnv = process.env): LocalBuildSettings {
  const settings = { ...defaults };
  for (const source of confSources(env)) {
    const conf = readConfSource(source, target)?.conf;
    for (const setting of conf?.settings ?? []) {
      const name = aliases.get(setting.name) ?? setting.name;
      const value = setting.value;
      if (name === 'max-silent-time') settings.maxSilentTime = readUnsignedInt(value) ?? settings.maxSilentTime;
      else if (name === 'timeout') settings.buildTimeout = readUnsignedInt(value) ?? settings.buildTimeout;
      else if (name === 'max-build-log-size') settings.maxLogSize = readUnsignedInt(value) ?? settings.maxLogSize;
      else if (name === 'keep-failed') settings.keepFailed = readBool(value) ?? settings.keepFailed;
      else if (name === 'builders-use-substitutes')
        settings.useSubstitutes = readBool(value) ?? settings.useSubstitutes;
    }
  }
  return settings;
}
