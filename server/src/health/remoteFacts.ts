// Facts about a builder, gathered in one round trip: the settings of its Nix that decide which
// derivations it takes (system, extra-platforms, system-features, trusted-users), cores, load,
// free space under /nix/store, /dev/kvm, and who the SSH user is. The script is a constant of
// ours run as `/bin/sh -c <script> sh <nix program>`: the only variable part (the path of `nix`,
// derived from remote-program) is an argument, quoted like every argument by remoteCommand.ts.

/** `sh -c` script; `$1` is the `nix` program to ask. Each section starts with a `@@name` line. */
export const FACTS_SCRIPT = [
  'nix="$1"',
  // The facts below need only the base system; a PATH without it is reported elsewhere.
  'PATH="$PATH:/usr/bin:/bin:/usr/sbin:/sbin"',
  'echo @@nix-config; "$nix" --extra-experimental-features nix-command show-config 2>&1',
  'echo @@nproc; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null',
  'echo @@loadavg; cat /proc/loadavg 2>/dev/null || sysctl -n vm.loadavg 2>/dev/null',
  'echo @@df; df -Pk /nix/store 2>/dev/null',
  'echo @@kvm; if [ -e /dev/kvm ]; then if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo rw; else echo present; fi; else echo absent; fi',
  'echo @@uname; uname -sm 2>/dev/null',
  'echo @@id; id -un 2>/dev/null; id -Gn 2>/dev/null',
  'echo @@end',
].join('\n');

export interface RemoteFacts {
  /** Nix's `system` on the builder. */
  system: string | undefined;
  extraPlatforms: string[];
  systemFeatures: string[];
  trustedUsers: string[];
  maxJobs: string | undefined;
  cores: number | undefined;
  /** 1, 5 and 15 minute load averages. */
  load: [number, number, number] | undefined;
  /** Free bytes on the file system of /nix/store. */
  storeFreeBytes: number | undefined;
  storeTotalBytes: number | undefined;
  /** /dev/kvm: absent, present (the SSH user cannot open it), rw. */
  kvm: 'absent' | 'present' | 'rw' | undefined;
  /** `uname -sm`, e.g. `Linux x86_64`. */
  uname: string | undefined;
  remoteUser: string | undefined;
  remoteGroups: string[];
  /** `nix show-config` failed; the first line of its output. */
  nixConfigError: string | undefined;
}

function sections(output: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const header = /^@@([a-z-]+)$/.exec(line.trim());
    if (header) {
      current = [];
      result.set(header[1]!, current);
    } else if (current !== undefined) {
      current.push(line);
    }
  }
  return result;
}

/** Reads `nix show-config` lines (`name = value`). */
function parseNixConfig(lines: readonly string[]): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of lines) {
    const match = /^([A-Za-z0-9-]+) = (.*)$/.exec(line);
    if (match) settings.set(match[1]!, match[2]!.trim());
  }
  return settings;
}

const words = (value: string | undefined) => (value ?? '').split(/\s+/).filter((word) => word !== '');

export function parseFacts(output: string): RemoteFacts {
  const parts = sections(output);
  const configLines = parts.get('nix-config') ?? [];
  const config = parseNixConfig(configLines);
  const nproc = Number((parts.get('nproc') ?? [])[0]?.trim());
  const loadWords = words((parts.get('loadavg') ?? []).join(' ').replace(/[{}]/g, ' '))
    .slice(0, 3)
    .map(Number);
  let free: number | undefined;
  let total: number | undefined;
  const dfLine = (parts.get('df') ?? []).find((line) => /^\S+\s+\d+\s+\d+\s+\d+/.test(line));
  if (dfLine !== undefined) {
    const fields = dfLine.trim().split(/\s+/);
    total = Number(fields[1]) * 1024;
    free = Number(fields[3]) * 1024;
  }
  const kvmWord = (parts.get('kvm') ?? [])[0]?.trim();
  const idLines = (parts.get('id') ?? []).map((line) => line.trim()).filter((line) => line !== '');
  const system = config.get('system');
  return {
    system,
    extraPlatforms: words(config.get('extra-platforms')),
    systemFeatures: words(config.get('system-features')),
    trustedUsers: words(config.get('trusted-users')),
    maxJobs: config.get('max-jobs'),
    cores: Number.isInteger(nproc) && nproc > 0 ? nproc : undefined,
    load:
      loadWords.length === 3 && loadWords.every((n) => Number.isFinite(n))
        ? (loadWords as [number, number, number])
        : undefined,
    storeFreeBytes: free !== undefined && Number.isFinite(free) ? free : undefined,
    storeTotalBytes: total !== undefined && Number.isFinite(total) ? total : undefined,
    kvm: kvmWord === 'absent' || kvmWord === 'present' || kvmWord === 'rw' ? kvmWord : undefined,
    uname: (parts.get('uname') ?? [])[0]?.trim() || undefined,
    remoteUser: idLines[0],
    remoteGroups: words(idLines[1]),
    nixConfigError:
      system === undefined ? configLines.map((line) => line.trim()).find((line) => line !== '') : undefined,
  };
}

/** The `nix` program next to a remote-program given as a path (else `nix` from PATH). */
export function nixProgramBeside(remoteProgram: string): string {
  const slash = remoteProgram.lastIndexOf('/');
  return slash >= 0 ? `${remoteProgram.slice(0, slash + 1)}nix` : 'nix';
}

/** The `nix-daemon` program next to a remote-program given as a path (else from PATH). */
export function daemonProgramBeside(remoteProgram: string): string {
  const slash = remoteProgram.lastIndexOf('/');
  return slash >= 0 ? `${remoteProgram.slice(0, slash + 1)}nix-daemon` : 'nix-daemon';
}
