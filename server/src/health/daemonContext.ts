// When local builds go through a nix-daemon, Nix reaches builders as root: root's keys, root's
// known_hosts, root's ssh config, the daemon's NIX_SSHOPTS; no user agent, no terminal. The
// probe connects as the user, so this module looks at what worked for the user and says what
// would not work for the daemon. Run as root, the two are the same and only the working
// directory (/ for the daemon) and passphrases still differ.
import * as path from 'node:path';
import type { HostKeyVerdict } from '../ssh/hostKeyCheck';
import type { IdentityReport } from '../ssh/keyring';
import { resolveSshHost, type ResolvedHost, type ResolveOptions } from '../ssh/sshConfig';
import { makeFinding, type Finding, type FindingContext } from './findings';

export interface DaemonCheckInput {
  context: FindingContext;
  /** Column 3 as written. */
  sshKey: string | undefined;
  /** Column 8 as written. */
  publicHostKey: string | undefined;
  resolved: ResolvedHost;
  hostKey: HostKeyVerdict | undefined;
  authenticatedWith: IdentityReport | undefined;
  runningAsRoot: boolean;
  home: string;
  /** How to resolve the host as root would (system config only); for `ssh -G`. */
  resolveOptions: ResolveOptions;
  destination: { user: string | undefined; host: string };
  openLine: Finding['action'];
  pinAction: Finding['action'] | undefined;
}

/** Findings about column 3 that do not need a connection. */
export function daemonKeyFindings(
  input: Pick<DaemonCheckInput, 'context' | 'sshKey' | 'runningAsRoot' | 'home' | 'openLine'>,
): Finding[] {
  const findings: Finding[] = [];
  const key = input.sshKey;
  if (key === undefined) return findings;
  const stage = 'context' as const;
  if (key.startsWith('~') && !input.runningAsRoot) {
    const forRoot = key === '~' || key.startsWith('~/') ? `/root${key.slice(1)}` : key;
    findings.push(
      makeFinding(
        'daemon-cannot-read-key',
        {
          ...input.context,
          keyFile: key,
          detail: `Column 3 is '${key}': ssh expands '~' for whoever runs it, so for the nix-daemon (root) that is ${forRoot}, not ${path.join(input.home, key.slice(2))}.`,
        },
        { stage, ...(input.openLine ? { action: input.openLine } : {}) },
      ),
    );
  } else if (!key.startsWith('/') && !key.startsWith('~')) {
    findings.push(
      makeFinding(
        'daemon-cannot-read-key',
        {
          ...input.context,
          keyFile: key,
          detail: `Column 3 is the relative path '${key}': the nix-daemon runs ssh in /, so it looks for /${key}.`,
        },
        { stage, ...(input.openLine ? { action: input.openLine } : {}) },
      ),
    );
  }
  return findings;
}

const describe = (host: ResolvedHost) =>
  `${host.user}@${host.hostName}:${host.port}${host.proxyJump.length ? ` via ${host.proxyJump.join(',')}` : ''}`;

/** Findings after a successful login as the user. */
export async function daemonConnectionFindings(input: DaemonCheckInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  const stage = 'context' as const;
  if (input.runningAsRoot) return findings;

  // Column 8 empty: the daemon checks root's known_hosts, which we cannot read.
  const verifiedInUserFile =
    input.hostKey?.kind === 'verified' &&
    input.hostKey.source.kind === 'known-hosts' &&
    !input.resolved.globalKnownHostsFiles.includes(input.hostKey.source.file);
  if (
    (input.publicHostKey === undefined || input.publicHostKey === '') &&
    verifiedInUserFile &&
    input.hostKey?.kind === 'verified'
  ) {
    findings.push(
      makeFinding(
        'daemon-needs-host-key',
        { ...input.context, fingerprint: input.hostKey.key.fingerprint },
        { stage, ...(input.pinAction ? { action: input.pinAction } : {}) },
      ),
    );
  }

  const used = input.authenticatedWith;
  if (used !== undefined && used.source === 'agent') {
    findings.push(
      makeFinding(
        'daemon-agent-only',
        { ...input.context, ...(used.fingerprint ? { fingerprint: used.fingerprint } : {}) },
        { stage, ...(input.openLine ? { action: input.openLine } : {}) },
      ),
    );
  }

  // What root's ssh would do: the system-wide config only (root's own ~/.ssh/config is not ours
  // to read), no NIX_SSHOPTS of ours, column 3 as -i.
  const differences: string[] = [];
  const asRoot = await resolveSshHost(input.destination, {
    ...input.resolveOptions,
    configFile: '/etc/ssh/ssh_config',
    nixSshOpts: '',
    home: '/root',
  });
  if (asRoot.ok) {
    const mine = input.resolved;
    const root = asRoot.host;
    if (
      mine.hostName !== root.hostName ||
      mine.port !== root.port ||
      mine.proxyJump.join(',') !== root.proxyJump.join(',')
    ) {
      differences.push(`you reach ${describe(mine)}, root would reach ${describe(root)}`);
    } else if (mine.user !== root.user && input.destination.user === undefined) {
      differences.push(`you log in as ${mine.user}, root would log in as ${root.user}`);
    }
  }
  if (
    used !== undefined &&
    used.source !== 'agent' &&
    used.source !== input.sshKey &&
    used.source.startsWith(`${input.home}/`)
  ) {
    differences.push(
      `the key that logged in, ${used.source}, comes from your ssh config or defaults, and root uses its own keys`,
    );
  }
  if (input.resolved.commandLine.settings.length > 0 || input.resolved.commandLine.configFile !== undefined) {
    differences.push('your NIX_SSHOPTS or ssh config setting applies to you only; the daemon has its own environment');
  }
  if (differences.length > 0) {
    findings.push(
      makeFinding(
        'daemon-user-config',
        { ...input.context, differences },
        { stage, ...(input.openLine ? { action: input.openLine } : {}) },
      ),
    );
  }
  return findings;
}
