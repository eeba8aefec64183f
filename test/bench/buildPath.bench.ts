// The build path phase by phase, from the command to the output in the local store, beside
// Nix's own `nix-build f.nix --builders @<same machines file> -j0` for the same kind of
// derivation (a fresh .nix file per contender and round, so nothing is cached on either side):
//   cold CLI   `node dist/cli.js build f.nix --machines <file>`: a new process, a new connection;
//   editor     a real language server over stdio (`node dist/server.js --stdio`), the plan
//              (`nixBuilders/planBuild`, which evaluates) then `nixBuilders/build` with the
//              plan's drvPath, as the client sends them; its first build on a fresh server, and
//              the later ones with the pool warm.
// Our phases come from the timing trace (NIX_BUILDERS_TRACE=1, context/timingTrace.ts) on
// stderr: node start + bundle load, evaluation, ssh -G, connect, closure query, copy in, remote
// build, copy out, import; `at` is each phase's start, so overlapping phases show as such.
// Medians of the rounds (≥ 5), ratios in the same run. The order of the contenders rotates each
// round. Nothing is asserted. With a `MiB` argument the derivation also has an input of that
// many fresh random MiB (the copy dominates). With BUILD_PATH_BEFORE=<a checkout whose dist/
// is built> the CLI and the server of that checkout run too, in the same rounds: before/after
// a change, side by side.
//   node --import tsx test/bench/buildPath.bench.ts [rounds=7] [MiB=0]
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDerivation } from '../../server/src/dispatch/derivation';
import { tracedPhases, type TracedPhase } from '../../server/src/context/timingTrace';
import { planBuildRequest, startBuildRequest } from '../../server/src/protocol';
import { LspClient } from '../lsp/helpers/lspClient';
import { machinesLine, provisionBuilders } from '../system/fixture';
import { CLI } from '../system/fixture/cli';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Timed {
  ms: number;
  phases: TracedPhase[];
}

type Anchor = { ok: true; ms: number } | { ok: false; why: string };

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, out: `${stdout}${stderr}`.trim() }),
    );
  });
}

function timedSpawn(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, ms: performance.now() - started, stdout, stderr }));
  });
}

/** Medians per phase, in the order the phases first appeared, with their median start. */
function phaseTable(runs: Timed[]): string[] {
  const names: string[] = [];
  for (const r of runs) for (const p of r.phases) if (!names.includes(p.phase)) names.push(p.phase);
  return names.map((name) => {
    const of = runs.map((r) => r.phases.filter((p) => p.phase === name));
    const ms = of.map((list) => list.reduce((sum, p) => sum + p.ms, 0));
    const at = of.filter((list) => list.length > 0).map((list) => list[0]!.at);
    const seen = of.filter((list) => list.length > 0).length;
    return `    ${name.padEnd(30)} ${median(ms).toFixed(0).padStart(6)} ms  (starts at ${median(at).toFixed(0)} ms${seen < runs.length ? `; in ${seen} of ${runs.length} runs` : ''})`;
  });
}

function ratioLine(label: string, ours: number[], anchor: Anchor[]): string {
  const failed = anchor.filter((a) => !a.ok);
  const ok = anchor.filter((a): a is { ok: true; ms: number } => a.ok);
  const oursMs = median(ours);
  if (ok.length === 0)
    return `  ${label.padEnd(34)} ${oursMs.toFixed(0)} ms  (no ratio: Nix's own build failed every round: ${failed[0]?.ok === false ? failed[0].why : ''})`;
  const nix = median(ok.map((a) => a.ms));
  const note = failed.length > 0 ? `; Nix's own build failed in ${failed.length} rounds` : '';
  return `  ${label.padEnd(34)} ${oursMs.toFixed(0)} ms  (ours / nix = ${(oursMs / nix).toFixed(2)}${note})`;
}

/** The bench's outputs, their derivations and the inputs those add are garbage here (best effort). */
async function dropFromStore(outputs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const paths = new Set<string>();
  for (const output of outputs.filter((o) => o.startsWith('/nix/store/'))) {
    paths.add(output);
    const deriver = (await run('nix-store', ['--query', '--deriver', output], env)).out;
    if (!deriver.endsWith('.drv') || !fs.existsSync(deriver)) continue;
    paths.add(deriver);
    for (const input of parseDerivation(fs.readFileSync(deriver, 'utf8')).inputSrcs) paths.add(input);
  }
  if (paths.size > 0) await run('nix-store', ['--delete', ...paths], env);
}

async function main() {
  const rounds = Math.max(5, Number(process.argv[2] ?? 7));
  const mib = Number(process.argv[3] ?? 0);
  const lab = await provisionBuilders({ builders: ['healthy'] });
  const bench = fs.mkdtempSync(path.join(lab.dir, 'build-path-'));
  try {
    // An alias of our own for the builder: Nix locks machine slots by URI on the client, and
    // other labs' builds on 'nix-healthy' must not queue with ours.
    const alias = `bench-path-${lab.slot}`;
    const base = fs.readFileSync(lab.sshConfig, 'utf8');
    const block = base.slice(base.indexOf(`Host ${lab.builders.healthy.alias}\n`)).split('\n\n')[0]!;
    const sshConfig = path.join(bench, 'ssh_config');
    fs.writeFileSync(sshConfig, `${base}\n${block.replace(`Host ${lab.builders.healthy.alias}`, `Host ${alias}`)}\n`);
    const machines = path.join(bench, 'machines');
    fs.writeFileSync(
      machines,
      `${machinesLine({ uri: `ssh://${alias}`, systems: lab.system, identityFile: lab.clientKey })}\n`,
    );
    const env = lab.env({ NIX_SSHOPTS: `-F ${sshConfig}` });
    const traceEnv = { ...env, NIX_BUILDERS_TRACE: '1' };
    const version = await run('nix-build', ['--version'], env);
    console.log(`Compared with ${version.out} (the machine's Nix), builder ${alias} on the lab.`);

    let counter = 0;
    /** Every output built, to drop with its derivation and inputs at the end. */
    const outputs: string[] = [];
    const freshFile = (who: string): string => {
      const nonce = `${process.pid}-${Date.now().toString(36)}-${counter++}`;
      let inputs = '';
      let script = 'echo $nonce > $out';
      if (mib > 0) {
        const input = path.join(bench, `input-${nonce}`);
        const fd = fs.openSync(input, 'w');
        for (let i = 0; i < mib; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
        fs.closeSync(fd);
        inputs = `big = builtins.path { path = ${JSON.stringify(input)}; name = "bench-input-${nonce}"; };`;
        script = 'wc -c < $big > $out';
      }
      const file = path.join(bench, `${who}-${nonce}.nix`);
      fs.writeFileSync(
        file,
        `derivation { name = "bench-path-${nonce}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; nonce = ${JSON.stringify(nonce)}; ${inputs} args = [ "-c" ${JSON.stringify(script)} ]; }\n`,
      );
      return file;
    };

    const nixBuild = async (file: string): Promise<Anchor> => {
      const result = await timedSpawn(
        'nix-build',
        [file, '--builders', `@${machines}`, '-j0', '--no-out-link', '--option', 'substituters', ''],
        env,
      );
      if (result.code === 0) outputs.push(...result.stdout.trim().split('\n'));
      return result.code === 0
        ? { ok: true, ms: result.ms }
        : { ok: false, why: `exit ${result.code}: ${result.stderr.trim().split('\n').slice(-2).join(' ')}` };
    };
    const before = process.env.BUILD_PATH_BEFORE;
    const cli = async (file: string, bundle = CLI): Promise<Timed> => {
      const result = await timedSpawn(
        process.execPath,
        [bundle, 'build', file, '--machines', machines, '--ssh-config', sshConfig],
        traceEnv,
      );
      if (result.code !== 0) throw new Error(`nix-builders build failed (${result.code}): ${result.stderr}`);
      outputs.push(...result.stdout.trim().split('\n'));
      const phases = tracedPhases(result.stderr);
      if (phases.length === 0) return { ms: result.ms, phases };
      const last = Math.max(...phases.map((p) => p.at + p.ms));
      return {
        ms: result.ms,
        phases: [...phases, { phase: 'after the last phase (to exit)', at: last, ms: result.ms - last }],
      };
    };

    // The editor: Nix reads the builders from NIX_CONFIG, as the view lists them.
    const serverEnv = { ...traceEnv, NIX_CONFIG: `substituters =\nbuilders = @${machines}` };
    const startServer = async (bundle?: string) => {
      const client = await LspClient.start({
        env: serverEnv,
        initializationOptions: { trusted: true },
        ...(bundle === undefined ? {} : { runAs: (command: string) => [command, [bundle, '--stdio']] }),
      });
      client.settings = { nixVersion: 'auto', sshConfigFile: sshConfig };
      return client;
    };
    const editorBuild = async (client: LspClient, file: string): Promise<Timed & { planMs: number }> => {
      const from = client.stderr.length;
      const started = performance.now();
      const plan = await client.connection.sendRequest(planBuildRequest, { file });
      if (!plan.ok) throw new Error(`plan failed: ${JSON.stringify(plan)}`);
      const planMs = performance.now() - started;
      const outcome = await client.connection.sendRequest(startBuildRequest, {
        file,
        buildId: path.basename(file),
        on: 'best',
        drvPath: plan.drvPath,
      });
      const ms = performance.now() - started;
      if (!outcome.ok) throw new Error(`build failed: ${outcome.cause}: ${outcome.message}`);
      outputs.push(...outcome.outputs.map((o) => o.path));
      return { ms, planMs, phases: tracedPhases(client.stderr.slice(from)) };
    };
    const relative = <T extends Timed>(timed: T): T => {
      if (timed.phases.length === 0) return timed;
      const first = Math.min(...timed.phases.map((p) => p.at));
      return { ...timed, phases: timed.phases.map((p) => ({ ...p, at: p.at - first })) };
    };

    const anchors: Anchor[] = [];
    const cold: Timed[] = [];
    const firsts: (Timed & { planMs: number })[] = [];
    const warms: (Timed & { planMs: number })[] = [];
    const earlier = { cold: [] as number[], first: [] as number[], warm: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const contenders = before === undefined ? ['nix', 'cli', 'editor'] : ['nix', 'cli', 'editor', 'before'];
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
      for (const who of order) {
        if (who === 'nix') anchors.push(await nixBuild(freshFile('nix')));
        else if (who === 'cli') cold.push(await cli(freshFile('cli')));
        else if (who === 'before') {
          earlier.cold.push((await cli(freshFile('before-cli'), path.join(before!, 'dist/cli.js'))).ms);
          const client = await startServer(path.join(before!, 'dist/server.js'));
          try {
            earlier.first.push((await editorBuild(client, freshFile('before-first'))).ms);
            earlier.warm.push((await editorBuild(client, freshFile('before-warm'))).ms);
          } finally {
            await client.stop();
          }
        } else {
          // A fresh server each round: its first build connects, the next one finds the pool warm.
          const client = await startServer();
          try {
            firsts.push(relative(await editorBuild(client, freshFile('first'))));
            warms.push(relative(await editorBuild(client, freshFile('warm'))));
          } finally {
            await client.stop();
          }
        }
      }
    }

    const what = mib > 0 ? `a derivation with a fresh ${mib} MiB input` : 'a trivial derivation';
    console.log(`\nThe build path for ${what}, median of ${rounds} rounds:`);
    const ok = anchors.filter((a): a is { ok: true; ms: number } => a.ok);
    console.log(
      `  nix-build f.nix --builders @file -j0 ${ok.length > 0 ? `${median(ok.map((a) => a.ms)).toFixed(0)} ms` : `failed: ${anchors[0]?.ok === false ? anchors[0].why : ''}`}`,
    );
    const sections: [string, (Timed & { planMs?: number })[]][] = [
      ['cold CLI (nix-builders build)', cold],
      ['editor, first build (plan + build)', firsts],
      ['editor, pool warm (plan + build)', warms],
    ];
    for (const [label, runs] of sections) {
      console.log(
        ratioLine(
          label,
          runs.map((t) => t.ms),
          anchors,
        ),
      );
      const plans = runs.flatMap((t) => (t.planMs === undefined ? [] : [t.planMs]));
      if (plans.length > 0) console.log(`    of which the plan (evaluation) ${median(plans).toFixed(0)} ms`);
      console.log(phaseTable(runs).join('\n'));
    }
    if (before !== undefined) {
      console.log(`\nBefore (${before}), in the same rounds:`);
      const pairs = [
        ['cold CLI', earlier.cold, cold],
        ['editor, first build', earlier.first, firsts],
        ['editor, pool warm', earlier.warm, warms],
      ] as const;
      for (const [label, was, now] of pairs) {
        console.log(ratioLine(`${label}, before`, was, anchors));
        console.log(`    now / before = ${(median(now.map((t) => t.ms)) / median(was)).toFixed(2)}`);
      }
    }
    await dropFromStore(outputs, env);
  } finally {
    await lab.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
