// The real Nix each bench compares with: the machine's own, and the version lab's releases
// (2.26, 2.34) as a user has them (fixture/labClient.ts: their programs first on PATH), when
// their chroots are made and this runs as root. Each says its version as Nix prints it, so a
// bench's figures always name the Nix they were measured against; one that cannot run says why.
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { checkLabNixParts, describeMissing, LAB_VERSION_LIST } from '../system/fixture';
import { makeLabClient, type LabClient } from '../system/fixture/labClient';

export interface NixAnchor {
  /** What `nix --version` printed, e.g. `nix (Nix) 2.8.0`. */
  version: string;
  /** `the machine's` or `the version lab's`. */
  where: string;
  /** The environment that runs this Nix by name (`nix`, `nix-build`, …) from `base`. */
  env(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The lab client, for the lab's releases. */
  client?: LabClient;
}

/** A Nix that could not be compared with, and why. */
export interface MissingAnchor {
  name: string;
  why: string;
}

const versionOf = (env: NodeJS.ProcessEnv) => {
  const run = spawnSync('nix', ['--version'], { env, encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
};

/** The Nix versions to compare with; `dir` (under /tmp) holds the lab clients' stores. */
export function nixAnchors(
  dir: string,
  options: { lab?: boolean } = {},
): { anchors: NixAnchor[]; missing: MissingAnchor[] } {
  const anchors: NixAnchor[] = [];
  const missing: MissingAnchor[] = [];
  const machineVersion = versionOf(process.env);
  if (machineVersion === undefined)
    missing.push({ name: "the machine's Nix", why: '`nix --version` failed (apt-get install nix-bin)' });
  else anchors.push({ version: machineVersion, where: "the machine's", env: (base) => base });
  if (options.lab === false) return { anchors, missing };
  for (const release of LAB_VERSION_LIST) {
    const parts = checkLabNixParts(release);
    if (parts.problems.length > 0) {
      missing.push({ name: `Nix ${release}`, why: describeMissing(parts) });
      continue;
    }
    if (process.getuid?.() !== 0) {
      missing.push({ name: `Nix ${release}`, why: 'the version lab runs as root only' });
      continue;
    }
    const client = makeLabClient(dir, release);
    const version = versionOf(client.env(process.env));
    if (version === undefined)
      missing.push({ name: `Nix ${release}`, why: `\`nix --version\` failed in ${client.root}` });
    else anchors.push({ version, where: "the version lab's", env: (base) => client.env(base), client });
  }
  return { anchors, missing };
}

/** Nix's check of a store, as the user types it: `nix store ping` before 2.19, `nix store info` from 2.19 (NixOS/nix b4b1a07f97, "store info alias created"; ping stays a deprecated alias). */
export function nixStoreCheck(version: string, uri: string): string[] {
  const [major, minor] = (/(\d+)\.(\d+)/.exec(version) ?? ['', '2', '8']).slice(1).map(Number) as [number, number];
  const info = major > 2 || minor >= 19;
  return ['--extra-experimental-features', 'nix-command', 'store', info ? 'info' : 'ping', '--store', uri];
}

/** Runs a command; its time, or why it failed. `onSpawn` hears its pid. */
export function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onSpawn?: (pid: number) => void,
): Promise<{ ms: number; error?: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { env, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    if (child.pid !== undefined) onSpawn?.(child.pid);
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', (error) => resolve({ ms: 0, error: error.message }));
    child.on('close', (code) =>
      resolve(code === 0 ? { ms: performance.now() - started } : { ms: 0, error: `exit ${code}: ${err.trim()}` }),
    );
  });
}
