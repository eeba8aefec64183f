// Facts about the Nix on this machine that change how a machines file is read: its version
// (the grammar differs between versions), its system (the default of column 2), and whether
// builds go through a nix-daemon (then root's SSH keys and known_hosts are the ones that count).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { parseNixVersion, type NixVersion } from '../model/nixVersion';

export interface LocalNix {
  /** The version `nix --version` printed, or undefined when there is no Nix here. */
  version: NixVersion | undefined;
  /** What Nix printed, for the log and hovers. */
  versionText: string | undefined;
  /** The `system` Nix builds for here: the default of the systems column. */
  system: string;
  /** Builds go through a nix-daemon: it runs ssh as root. */
  daemon: boolean;
  /** Where `~` in a key path leads for whoever runs ssh: root's home under a daemon. */
  keyHome: string;
}

/** The newest behaviour we model: used when no Nix is installed and no version is set. */
export const newestKnownNix: NixVersion = { major: 2, minor: 31, patch: 0 };

function run(command: string, args: string[], timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) =>
      resolve(error ? undefined : stdout),
    );
  });
}

/** Nix's name for this machine's platform, as `builtins.currentSystem` would say. */
function systemOfThisMachine(): string {
  const arch: Record<string, string> = {
    x64: 'x86_64',
    arm64: 'aarch64',
    ia32: 'i686',
    riscv64: 'riscv64',
    ppc64: 'powerpc64le',
    s390x: 's390x',
  };
  return `${arch[process.arch] ?? process.arch}-${process.platform}`;
}

/**
 * Whether this machine's Nix builds through a daemon: `NIX_REMOTE=daemon`, or (as Nix decides
 * for `auto`) a daemon socket exists and we are not root.
 */
function buildsThroughDaemon(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NIX_REMOTE === 'daemon' || env.NIX_REMOTE?.startsWith('unix://')) return true;
  if (env.NIX_REMOTE && env.NIX_REMOTE !== 'auto') return false;
  const socket = `${env.NIX_STATE_DIR ?? '/nix/var/nix'}/daemon-socket/socket`;
  return existsSync(socket) && process.getuid?.() !== 0;
}

let detected: Promise<LocalNix> | undefined;

/** Asks the local Nix once per process; later calls share the answer. */
export function detectLocalNix(): Promise<LocalNix> {
  detected ??= (async () => {
    const versionText = (await run('nix', ['--version']))?.trim() ?? (await run('nix-store', ['--version']))?.trim();
    const daemon = buildsThroughDaemon();
    return {
      version: versionText ? parseNixVersion(versionText) : undefined,
      versionText,
      system: systemOfThisMachine(),
      daemon,
      keyHome: daemon ? '/root' : homedir(),
    };
  })();
  return detected;
}
