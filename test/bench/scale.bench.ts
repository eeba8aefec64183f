// Checking 200 builders at once: `nix-builders ping` (one process, 32 probes at once, at most 8
// logging in to one sshd) against 200 `nix store ping` run 32 at a time (the anchor: the same
// parallelism), on 200 ssh config aliases of the lab's two healthy builders (ssh:// and
// ssh-ng://, loopback only). Wall time and peak RSS of each, the ratio; the order alternates
// each round. Peak RSS is the most that all the contender's processes (node or nix, and the ssh
// each runs) held at once, sampled every 20 ms from /proc. Nothing is asserted.
// Run as root: npm run build && node --import tsx test/bench/scale.bench.ts [rounds=2]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { provisionBuilders } from '../system/fixture';
import { aliasConfig } from '../system/fixture/aliasConfig';
import { childrenOf } from '../system/fixture/processes';
import { nixStoreCheck, timed } from './nixAnchors';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const COUNT = 200;
const AT_ONCE = 32;
const cli = join(__dirname, '../../dist/cli.js');

/** RSS in bytes of these processes and every process below them, summed. */
function treeRss(roots: Iterable<number>): number {
  let total = 0;
  const pending = [...roots];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    try {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
      total += Number(line?.[1] ?? 0) * 1024;
      pending.push(...childrenOf(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/**
 * Runs `work`, sampling the RSS of the processes it starts (it tells their pids) and theirs,
 * not the lab's builders: its time and the peak.
 */
async function measured(
  work: (started: (pid: number) => void) => Promise<string | undefined>,
): Promise<{ ms: number; peak: number; error?: string }> {
  let peak = 0;
  const roots = new Set<number>();
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss(roots))), 20);
  const started = performance.now();
  const error = await work((pid) => roots.add(pid));
  const ms = performance.now() - started;
  clearInterval(sampler);
  return error === undefined ? { ms, peak } : { ms, peak, error };
}

function ours(
  machines: string,
  sshConfig: string,
  env: NodeJS.ProcessEnv,
  started: (pid: number) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [cli, 'ping', '--machines', machines, '--ssh-config', sshConfig, '--format', 'json'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (child.pid !== undefined) started(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => {
      if (code !== 0) return resolve(`nix-builders ping exited ${code}: ${stderr.trim().slice(0, 400)}`);
      const down = (JSON.parse(stdout) as { uri: string; status: string }[]).filter((r) => r.status !== 'up');
      resolve(down.length ? `${down.length} not up, e.g. ${JSON.stringify(down[0])}` : undefined);
    });
  });
}

async function nixStorePings(
  version: string,
  uris: string[],
  env: NodeJS.ProcessEnv,
  started: (pid: number) => void,
): Promise<string | undefined> {
  let next = 0;
  let failed: string | undefined;
  const worker = async () => {
    while (next < uris.length) {
      const run = await timed('nix', nixStoreCheck(version, uris[next++]!), env, started);
      failed ??= run.error;
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));
  return failed;
}

async function main() {
  const rounds = Number(process.argv[2] ?? 2);
  const lab = await provisionBuilders({ builders: ['healthy', 'healthyNg'] });
  try {
    const aliases: Record<string, string> = {};
    const uris: string[] = [];
    for (let i = 0; uris.length < COUNT; i++) {
      for (const builder of [lab.builders.healthy, lab.builders.healthyNg]) {
        const alias = `${builder.alias}-scale-${i}`;
        aliases[alias] = builder.alias;
        uris.push(`${builder.protocol}://${alias}`);
      }
    }
    const sshConfig = aliasConfig(lab, 'scale_bench_ssh_config', aliases);
    const machines = join(lab.dir, 'scale.machines');
    writeFileSync(machines, `${uris.map((uri) => `${uri} ${lab.system} ${lab.clientKey}`).join('\n')}\n`);
    const env = { ...lab.env(), NIX_SSHOPTS: `-F ${sshConfig}` };
    const version =
      (await new Promise<string>((resolve) => {
        const child = spawn('nix', ['--version'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        child.on('close', () => resolve(out.trim()));
      })) || 'no Nix';

    const runs = { ours: [] as { ms: number; peak: number }[], nix: [] as { ms: number; peak: number }[] };
    let nixFailed: string | undefined;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['ours', 'nix'] as const) : (['nix', 'ours'] as const);
      for (const who of order) {
        const run = await measured((started) =>
          who === 'ours' ? ours(machines, sshConfig, env, started) : nixStorePings(version, uris, env, started),
        );
        if (run.error !== undefined && who === 'ours') throw new Error(`our ping failed: ${run.error}`);
        if (run.error !== undefined) nixFailed ??= run.error;
        else runs[who].push(run);
      }
    }
    const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
    const ms = median(runs.ours.map((r) => r.ms));
    const peak = median(runs.ours.map((r) => r.peak));
    console.log(
      `${COUNT} builders (aliases of 2), ${AT_ONCE} at once, medians of ${rounds} rounds, against ${version}:`,
    );
    console.log(`  nix-builders ping:                 ${ms.toFixed(0)} ms, peak RSS ${mb(peak)}`);
    if (runs.nix.length === 0)
      console.log(`  ${COUNT} × nix store ping: anchor failed, no ratio: ${nixFailed ?? 'no run'}`);
    else {
      const nixMs = median(runs.nix.map((r) => r.ms));
      const nixPeak = median(runs.nix.map((r) => r.peak));
      console.log(`  ${COUNT} × nix store ping, ${AT_ONCE} at a time: ${nixMs.toFixed(0)} ms, peak RSS ${mb(nixPeak)}`);
      console.log(`  ours/Nix: time ${(ms / nixMs).toFixed(2)}×, peak RSS ${(peak / nixPeak).toFixed(2)}×`);
      if (nixFailed !== undefined) console.log(`  (a nix store ping failed in one round: ${nixFailed})`);
    }
  } finally {
    await lab.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
