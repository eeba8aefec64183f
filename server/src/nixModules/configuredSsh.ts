// The ssh view of the configuration that declares the builders: its `programs.ssh.extraConfig`
// (which NixOS writes into /etc/ssh/ssh_config) and its `programs.ssh.knownHosts` (written to
// /etc/ssh/ssh_known_hosts). After a rebuild the daemon's ssh reads both, so a hostName that is
// a Host alias there, or a host whose key is listed there, is looked up through them: an ssh
// config file made of them (with the user's own config included after, as ssh reads the global
// one after the user's), read without running ssh, since its `Match exec` would run commands
// from the workspace.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NixModuleDeclarations, OptionSetting } from './declarations';
import { decodeString } from './nixSyntax';

export interface ConfiguredKnownHost {
  /** The names ssh finds the key under (`hostNames`, else the attribute name and `extraHostNames`). */
  names: string[];
  /** `type AAAA…` as `publicKey` gives it. */
  keyLine: string;
}

export interface ConfiguredSsh {
  /** The text of programs.ssh.extraConfig, when the file writes it out (no interpolation). */
  extraConfig: string | undefined;
  knownHosts: ConfiguredKnownHost[];
}

const knownHostsPrefix = 'programs.ssh.knownHosts.';

/** The file's ssh settings; undefined when it sets neither. */
export function configuredSsh(declarations: NixModuleDeclarations): ConfiguredSsh | undefined {
  const settings = declarations.settings;
  const extra = settings.find((s) => s.option === 'programs.ssh.extraConfig');
  const extraConfig = extra ? stringOf(extra) : undefined;
  const byName = new Map<string, { names?: string[]; extra: string[]; key?: string }>();
  for (const s of settings) {
    if (!s.option.startsWith(knownHostsPrefix)) continue;
    const rest = s.option.slice(knownHostsPrefix.length);
    // The name may hold dots (`"builder.example.org"`): the known attribute is at the end.
    const attribute = ['publicKey', 'hostNames', 'extraHostNames'].find((a) => rest.endsWith(`.${a}`));
    if (!attribute) continue;
    const name = rest.slice(0, -attribute.length - 1);
    const host = byName.get(name) ?? { extra: [] };
    byName.set(name, host);
    if (attribute === 'publicKey') host.key = stringOf(s);
    else if (s.value.kind === 'list') {
      const items = s.value.items.flatMap((i) => (i.value.kind === 'string' ? [i.value.value] : []));
      if (attribute === 'hostNames') host.names = items;
      else host.extra.push(...items);
    }
  }
  const knownHosts = [...byName].flatMap(([name, host]) =>
    host.key ? [{ names: host.names ?? [name, ...host.extra], keyLine: host.key.trim() }] : [],
  );
  if (extraConfig === undefined && knownHosts.length === 0) return undefined;
  return { extraConfig, knownHosts };
}

/** A string setting's text: `"…"`, or a `''…''` string without interpolation (its indentation kept: ssh ignores it). */
function stringOf(setting: OptionSetting): string | undefined {
  if (setting.value.kind === 'string') return setting.value.value;
  if (setting.value.kind !== 'unknown') return undefined;
  const source = setting.value.expression.trim();
  if (!source.startsWith("''") || !source.endsWith("''") || source.includes('${')) return undefined;
  return source
    .slice(2, -2)
    .replace(/''(\\[\s\S]|'|\$)/g, (_, escape: string) =>
      escape === "'" ? "''" : escape === '$' ? '$' : decodeString(escape),
    );
}

/** True when ssh would look `hostName` up through these settings: a `Host` line naming it, or a known host. */
export function appliesTo(configured: ConfiguredSsh, hostName: string): boolean {
  const host = hostName.toLowerCase();
  if (configured.knownHosts.some((k) => k.names.some((n) => n.toLowerCase() === host))) return true;
  return (configured.extraConfig ?? '').split('\n').some((line) => {
    const [keyword, ...patterns] = line.trim().split(/[\s=]+/);
    return keyword?.toLowerCase() === 'host' && patterns.some((p) => p.toLowerCase() === host);
  });
}

/** An ssh config argument: in double quotes when it holds a space. */
const quoted = (path: string) => (/\s/.test(path) ? `"${path}"` : path);

let folder: string | undefined;
process.once('exit', () => folder && rmSync(folder, { recursive: true, force: true }));

/**
 * An ssh config file holding these settings: extraConfig, then the known hosts as the global
 * known_hosts file, then `userConfig` (the user's own, or ~/.ssh/config). Named by its
 * content, so the lookups' cache never mixes two versions.
 */
export function configuredSshFile(
  configured: ConfiguredSsh,
  userConfig: string | undefined,
): { configFile: string; knownHostsFile: string } {
  folder ??= mkdtempSync(join(tmpdir(), 'nix-builders-configured-ssh-'));
  const knownHosts = configured.knownHosts.map((k) => `${k.names.join(',')} ${k.keyLine}\n`).join('');
  const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);
  const knownHostsFile = join(folder, `known_hosts-${hash(knownHosts)}`);
  writeFileSync(knownHostsFile, knownHosts, { mode: 0o600 });
  const text = [
    '# programs.ssh.extraConfig of the configuration (what /etc/ssh/ssh_config says after a rebuild)',
    configured.extraConfig ?? '',
    'Host *',
    `  GlobalKnownHostsFile ${knownHostsFile} /etc/ssh/ssh_known_hosts`,
    `  Include ${quoted(userConfig ?? '~/.ssh/config')}`,
    '',
  ].join('\n');
  const file = join(folder, `ssh_config-${hash(text)}`);
  writeFileSync(file, text, { mode: 0o600 });
  return { configFile: file, knownHostsFile };
}

/** What a lookup of `hostName` through the configuration's ssh settings needs; undefined when they do not name it. */
export interface ConfiguredLookup {
  configFile: string;
  /** The configuration's known hosts file, and how messages name it. */
  knownHostsNamed: Map<string, string>;
  /** Where the settings came from, in words. */
  via: string;
}

/** The lookup of `hostName` through these settings (the user's config after them), when they name it. */
export function configuredLookup(
  configured: ConfiguredSsh | undefined,
  hostName: string,
  userConfig: string | undefined,
  configuration = 'this configuration',
): ConfiguredLookup | undefined {
  if (!configured || !appliesTo(configured, hostName)) return undefined;
  const from = [
    configured.extraConfig !== undefined ? 'programs.ssh.extraConfig' : undefined,
    configured.knownHosts.length > 0 ? 'programs.ssh.knownHosts' : undefined,
  ].filter(Boolean);
  const files = configuredSshFile(configured, userConfig);
  return {
    configFile: files.configFile,
    knownHostsNamed: new Map([[files.knownHostsFile, `programs.ssh.knownHosts of ${configuration}`]]),
    via: `as ${from.join(' and ')} of ${configuration} say, which the daemon's ssh reads after a rebuild`,
  };
}
