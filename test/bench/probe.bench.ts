// Probing builders: ours (all in parallel, one process) against `nix store ping` for the same
// machines, run one after another and all at once, in the same run. The machines are the lab's
// two healthy builders plus extra ssh_config aliases of them (loopback only), so N can grow
// without more builders. Run as root: node --import tsx test/bench/probe.bench.ts [N]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { probeMachines } from '../../server/src/health/probe';
import { provisionBuilders } from '../system/fixture';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      if (code !== 0) console.error(`${command} ${args.join(' ')} failed: ${err.trim()}`);
      resolve(code ?? 1);
    });
  });
}

async function main() {
  const n = Number(process.argv[2] ?? 8);
  const lab = await provisionBuilders({ builders: ['healthy', 'healthyNg'] });
  try {
    // Extra aliases of the two builders: same address, key and user, another name.
    const base = readFileSync(lab.sshConfig, 'utf8');
    const aliases: string[] = [];
    let extra = '';
    for (let i = 0; aliases.length < n; i++) {
      for (const b of [lab.builders.healthy, lab.builders.healthyNg]) {
        if (aliases.length >= n) break;
        const alias = `${b.alias}-bench-${i}`;
        aliases.push(`${b.protocol}://${alias}`);
        const block = base.slice(base.indexOf(`Host ${b.alias}\n`)).split('\n\n')[0]!;
        extra += `${block.replace(`Host ${b.alias}`, `Host ${alias}`)}\n\n`;
      }
    }
    const config = join(lab.dir, 'bench_ssh_config');
    writeFileSync(config, `${base}\n${extra}`);
    const machines = parseBuilders(
      aliases.map((uri) => `${uri} ${lab.system} ${lab.clientKey}`).join('\n'),
      nix2_8Rules,
    ).machines;
    const env = { ...lab.env(), NIX_SSHOPTS: `-F ${config}` };
    const storePing = (uri: string) =>
      run('nix', ['--extra-experimental-features', 'nix-command', 'store', 'ping', '--store', uri], env);

    const ours: number[] = [];
    const nixSequential: number[] = [];
    const nixParallel: number[] = [];
    for (let round = 0; round < 5; round++) {
      let t = performance.now();
      const results = await probeMachines(machines, { sshConfigFile: config, env });
      ours.push(performance.now() - t);
      const down = results.filter((r) => r.status === 'down');
      if (down.length) throw new Error(`probe failed: ${JSON.stringify(down[0]!.findings)}`);

      t = performance.now();
      for (const uri of aliases) await storePing(uri);
      nixSequential.push(performance.now() - t);

      t = performance.now();
      await Promise.all(aliases.map(storePing));
      nixParallel.push(performance.now() - t);
    }
    const o = median(ours);
    const s = median(nixSequential);
    const p = median(nixParallel);
    console.log(`${n} builders, median of 5 rounds:`);
    console.log(`  ours, full probe (8 stages), parallel: ${o.toFixed(0)} ms`);
    console.log(`  nix store ping, one after another:     ${s.toFixed(0)} ms  (ours = ${(o / s).toFixed(2)}×)`);
    console.log(`  nix store ping, all at once:            ${p.toFixed(0)} ms  (ours = ${(o / p).toFixed(2)}×)`);
  } finally {
    await lab.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
