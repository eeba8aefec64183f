// "This machine": for the user running us, whether builds go through a nix-daemon, whether that
// daemon trusts the user (it ignores an untrusted user's --builders and refuses unsigned paths
// from them), and the settings builds run with, taken from real Nix rather than our model.
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import type { HealthFinding, LocalMachineInfo } from '../protocol';
import { parseNixVersion } from '../model/nixVersion';
import {
  daemonIgnoresRestrictedSetting,
  daemonViewEnv,
  nixRunner,
  pingStore,
  showConfig,
  type NixRunner,
  type NixSettings,
} from './nixSettings';
import { groupMembersFromSystem, matchingEntry, type Account, type GroupMembers } from './userTrust';
import { localMachineFindings } from './localFindings';

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  nix?: NixRunner;
  account?: Account;
  groupMembers?: GroupMembers;
}

/** The user and the name of the process's primary group, as the daemon will see them. */
function currentAccount(): Account {
  let user = String(process.getuid?.() ?? '');
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid: the daemon names such a peer by its number too.
  }
  let primaryGroup = String(process.getgid?.() ?? '');
  try {
    const line = execFileSync('getent', ['group', primaryGroup], { encoding: 'utf8', timeout: 5000 });
    primaryGroup = line.split(':')[0] || primaryGroup;
  } catch {
    // No name for the gid: the daemon compares the number as text too.
  }
  return { user, primaryGroup };
}

const isDaemonStore = (url: string | undefined) => url === 'daemon' || url?.startsWith('unix://') === true;

export async function detectLocalMachine(options: DetectOptions = {}): Promise<LocalMachineInfo> {
  const env = options.env ?? process.env;
  const nix = options.nix ?? nixRunner();
  const account = options.account ?? currentAccount();
  const versionResult = await nix(['--version'], env);
  const versionText = versionResult.ok ? versionResult.stdout.trim() : undefined;
  const version = versionText ? parseNixVersion(versionText) : undefined;
  const nixVersion = /(\d+\.\d+(?:\.\d+)?\S*)\s*$/.exec(versionText ?? '')?.[1];
  const base = { user: account.user, nixVersion, extraPlatforms: [], systemFeatures: [], findings: [] };
  if (versionText === undefined) {
    const info: LocalMachineInfo = {
      ...base,
      mode: 'no-nix',
      storeUrl: undefined,
      trusted: undefined,
      trustedBy: 'no Nix found',
      system: undefined,
      maxJobs: undefined,
      builders: '',
      buildersOf: 'user',
      userBuildersHonoured: false,
    };
    return { ...info, findings: localMachineFindings(info, undefined) };
  }

  const [store, mine, daemons] = await Promise.all([
    pingStore(nix, env, version),
    showConfig(nix, env, version),
    showConfig(nix, daemonViewEnv(env), version),
  ]);
  const daemon = isDaemonStore(store.url);
  let trusted: boolean | undefined;
  let trustedBy: string;
  let allowedBy: string | undefined = '*';
  if (!daemon) {
    trusted = store.url === undefined ? undefined : true;
    trustedBy =
      store.url === undefined
        ? `the store could not be opened${store.error ? `: ${store.error}` : ''}`
        : 'you own the store (no daemon)';
  } else if (store.trusted !== undefined) {
    trusted = store.trusted;
    trustedBy = `the nix-daemon says so (nix ${version && version.minor >= 19 ? 'store info' : 'store ping'} --json)`;
  } else if (daemons !== undefined) {
    // Before 2.15 no command says. Ask the daemon itself (does it ignore a restricted setting
    // from us?), and say which trusted-users entry, read with the daemon's rule, explains it.
    const members = options.groupMembers ?? groupMembersFromSystem;
    const entry = await matchingEntry(account, daemons.trustedUsers, members);
    allowedBy = entry ?? (await matchingEntry(account, daemons.allowedUsers, members));
    const ignored = await daemonIgnoresRestrictedSetting(nix, env, mine?.negativeTtl);
    trusted = ignored === undefined ? entry !== undefined : !ignored;
    const list = `trusted-users = ${daemons.trustedUsers.join(' ') || '(empty)'} in /etc/nix/nix.conf`;
    const asked =
      ignored === undefined
        ? ''
        : ignored
          ? 'the nix-daemon ignores restricted settings from you; '
          : 'the nix-daemon takes restricted settings from you; ';
    trustedBy = `${asked}${entry !== undefined ? `${list} (matches ${entry})` : `${list} names neither you nor a group of yours`}`;
  } else {
    trusted = undefined;
    trustedBy = 'Nix printed no settings';
  }
  const builds: NixSettings | undefined = daemon ? daemons : mine;
  const userBuildersHonoured = !daemon || trusted === true;
  const info: LocalMachineInfo = {
    ...base,
    mode: daemon ? 'daemon' : 'single-user',
    storeUrl: store.url,
    trusted,
    trustedBy,
    system: builds?.system ?? mine?.system,
    extraPlatforms: builds?.extraPlatforms ?? [],
    systemFeatures: builds?.systemFeatures ?? [],
    // max-jobs is sent to the daemon by every client, trusted or not (2.8 daemon.cc, ClientSettings::apply).
    maxJobs: mine?.maxJobs,
    builders: (userBuildersHonoured ? mine?.builders : daemons?.builders) ?? '',
    buildersOf: userBuildersHonoured ? 'user' : 'daemon',
    userBuildersHonoured,
  };
  return {
    ...info,
    findings: localMachineFindings(info, {
      storeError: store.error,
      allowed: allowedBy !== undefined,
      daemonBuilders: daemons?.builders,
      userBuilders: mine?.builders,
    }),
  };
}

let detected: Promise<LocalMachineInfo> | undefined;

/** Asked once per process (the view's refresh asks again with `fresh`). */
export function localMachine(fresh = false): Promise<LocalMachineInfo> {
  if (fresh || detected === undefined) detected = detectLocalMachine();
  return detected;
}

export type { HealthFinding };
