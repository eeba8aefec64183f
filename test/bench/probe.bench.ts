// Checking one builder: ours against Nix's own check of the same builder, in the same run, on
// each Nix this machine has (the machine's 2.8 runs `nix store ping`, the version lab's 2.26 and
// 2.34 `nix store info`), each against its own release's ssh:// and ssh-ng:// builders:
//   - Nix's command: resolve (its ssh reads the config), connect, log in, the store's greeting;
//   - ours with the same stages only (`storeOpenOnly`: resolve, tcp, handshake, auth, that one
//     greeting), a new connection each time as Nix makes;
//   - our full probe (all 8 stages), a new connection each time too.
// The order of the three rotates each round; medians of 7 rounds and the ratios are printed,
// nothing is asserted. A Nix whose command fails, or that cannot run here, says so.
// Run as root: node --import tsx test/bench/probe.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { runProbe, type ProbeMachine } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { provisionBuilders, type LabBuilderName } from '../system/fixture';
import { nixAnchors, nixStoreCheck, timed } from './nixAnchors';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ROUNDS = 7;

const BUILDERS_OF: Record<string, [LabBuilderName, LabBuilderName]> = {
  '2.8': ['healthy', 'healthyNg'],
  '2.26': ['healthy226', 'healthy226Ng'],
  '2.34': ['healthy234', 'healthy234Ng'],
};

async function main() {
  const dir = mkdtempSync('/tmp/nix-builders-probe-bench-');
  const { anchors, missing } = nixAnchors(dir);
  const release = (version: string) => /(\d+\.\d+)/.exec(version)?.[1] ?? '';
  const usable = anchors.filter((anchor) => BUILDERS_OF[release(anchor.version)] !== undefined);
  const lab = await provisionBuilders({ builders: usable.flatMap((anchor) => BUILDERS_OF[release(anchor.version)]!) });
  try {
    const env = lab.env();
    for (const anchor of usable) {
      for (const name of BUILDERS_OF[release(anchor.version)]!) {
        const builder = lab.builders[name];
        // The URI alone, as `--store` gets it: key and host key come from the lab's ssh config.
        const machine: ProbeMachine = parseBuilders(builder.uri, nix2_8Rules, { localSystem: lab.system }).machines[0]!;
        const args = nixStoreCheck(anchor.version, builder.uri);
        const times = { nix: [] as number[], same: [] as number[], full: [] as number[] };
        let failed: string | undefined;
        const contenders: [keyof typeof times, () => Promise<string | undefined>][] = [
          [
            'nix',
            async () => {
              const run = await timed('nix', args, anchor.env(env));
              if (run.error === undefined) times.nix.push(run.ms);
              return run.error;
            },
          ],
          ...(['same', 'full'] as const).map(
            (kind) =>
              [
                kind,
                async () => {
                  const started = performance.now();
                  const result = await runProbe(machine, {
                    env,
                    sshConfigFile: lab.sshConfig,
                    ...(kind === 'same' ? { storeOpenOnly: true } : {}),
                  });
                  times[kind].push(performance.now() - started);
                  return result.status === 'down'
                    ? `our probe: ${result.findings.map((f) => f.code).join(', ')}`
                    : undefined;
                },
              ] as [keyof typeof times, () => Promise<string | undefined>],
          ),
        ];
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < contenders.length; i++) {
            const error = await contenders[(round + i) % contenders.length]![1]();
            if (error !== undefined) failed ??= error;
          }
        }
        const n = times.nix.length ? median(times.nix) : undefined;
        const same = median(times.same);
        const full = median(times.full);
        console.log(
          `${builder.uri} (builder Nix ${release(anchor.version) || '?'}), medians of ${ROUNDS}, against ${anchor.version} (${anchor.where}):`,
        );
        if (n === undefined) console.log(`  nix ${args.slice(2).join(' ')}: anchor failed, no ratio: ${failed}`);
        else console.log(`  nix ${args.slice(2, 4).join(' ')}:                             ${n.toFixed(0)} ms`);
        const ratio = (value: number) => (n === undefined ? 'no ratio' : `${(value / n).toFixed(2)}×`);
        console.log(`  ours, the same stages (connect + greeting): ${same.toFixed(0)} ms  (${ratio(same)})`);
        console.log(`  ours, the full probe (8 stages):            ${full.toFixed(0)} ms  (${ratio(full)})`);
        if (failed !== undefined && n !== undefined) console.log(`  (one run failed: ${failed})`);
      }
    }
    for (const { name, why } of missing) console.log(`${name}: anchor failed, no ratio: ${why}`);
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
