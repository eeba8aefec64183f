// Offloading one derivation end to end: ours (offload over ssh2) against Nix's own
// `nix-build <drv> --builders '<same machine>' -j0`, in the same run, on the same lab builder.
// Two kinds of derivation: a trivial one, and one whose input closure holds a fresh 50 MiB file
// of random bytes (a `builtins.path` source), so the copy dominates. Every round instantiates
// fresh derivations (a nonce, and new random bytes), one per contender, so nothing is cached on
// either side. Ours runs twice per round: with a new connection pool (it connects, as Nix's ssh
// does) and with the pool kept from the previous round (the editor's case: the builder was just
// probed or used). The order of the contenders rotates each round. Medians and ratios printed;
// nothing is asserted. Then the same bytes over a new connection without Nix: OpenSSH's
// `ssh host 'cat >/dev/null'` against ssh2's exec channel (how our copy in goes), and back,
// with the CPU each side spent, to tell what makes the first MiB on a new connection slow.
//   node --import tsx test/bench/offload.bench.ts [rounds=7] [MiB=50] [only-channels]
import { execFile, spawn } from 'node:child_process';
import type { Client } from 'ssh2';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDerivation } from '../../server/src/dispatch/derivation';
import { offload, type OffloadPhase } from '../../server/src/dispatch/offload';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { ConnectionPool } from '../../server/src/ssh/pool';
import { acquireMachine } from '../../server/src/ssh/machineConnection';
import { openCommand } from '../../server/src/ssh/remoteCommand';
import { machinesLine, provisionBuilders } from '../system/fixture';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, cwd: '/', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code =
          error === null
            ? 0
            : typeof (error as { code?: unknown }).code === 'number'
              ? (error as { code: number }).code
              : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function nixBuild(drv: string, builders: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      'nix-build',
      [drv, '--builders', builders, '-j0', '--no-out-link', '--option', 'substituters', ''],
      { env, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`nix-build failed (${code}): ${err.trim()}`)),
    );
  });
}

/** `command` under /usr/bin/time: wall ms and the CPU ms it spent (user + system). */
function timedCommand(command: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string) {
  return new Promise<{ ms: number; cpuMs: number }>((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', command, ...args], {
      env,
      stdio: [stdin === undefined ? 'ignore' : fs.openSync(stdin, 'r'), 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('close', (code) => {
      const [user, system] = err.trim().split('\n').pop()!.split(' ').map(Number);
      if (code !== 0) reject(new Error(`${command} failed (${code}): ${err}`));
      else resolve({ ms: performance.now() - started, cpuMs: ((user ?? 0) + (system ?? 0)) * 1000 });
    });
  });
}

/** One command on `client`, timed from the channel's opening to its close. */
async function timedExec(client: Client, args: string[]): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const channel = await openCommand(client, args);
  channel.resume();
  channel.stderr.resume();
  await new Promise<void>((resolve) => channel.on('close', () => resolve()));
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * The same bytes one way and the other over a new connection, OpenSSH against ssh2, each round
 * in a new connection. ssh's times include its login (measured alone with `true`, and taken off).
 */
async function channels(
  dir: string,
  machine: ReturnType<typeof parseBuilders>['machines'][number],
  sshConfig: string,
  alias: string,
  env: NodeJS.ProcessEnv,
  rounds: number,
  mib: number,
): Promise<void> {
  const file = path.join(dir, 'channel-bytes');
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
  fs.closeSync(fd);
  const bytes = mib * 1024 * 1024;
  const ssh = (command: string, stdin?: string) => timedCommand('ssh', ['-F', sshConfig, alias, command], env, stdin);
  const ssh2 = async (direction: 'up' | 'down', chunk: number, times = 1) => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    const leased = await acquireMachine(pool, machine, { env, sshConfigFile: sshConfig });
    if (!leased.ok) throw new Error(leased.failure.cause);
    // The same connection used before (times > 1): only the last copy is timed.
    for (let i = 1; i < times; i++) await copyOnce(leased.lease.connection.client, direction, chunk);
    const result = await copyOnce(leased.lease.connection.client, direction, chunk);
    leased.lease.release();
    await pool.close();
    return result;
  };
  const copyOnce = async (client: Client, direction: 'up' | 'down', chunk: number) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const channel = await openCommand(client, [
      '/bin/sh',
      '-c',
      direction === 'up' ? 'cat >/dev/null' : `head -c ${bytes} /dev/zero`,
    ]);
    channel.stderr.resume();
    const closed = new Promise<void>((resolve) => channel.on('close', () => resolve()));
    if (direction === 'up') {
      channel.resume();
      fs.createReadStream(file, { highWaterMark: chunk }).pipe(channel);
    } else channel.pipe(fs.createWriteStream('/dev/null'));
    await closed;
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { ms, cpuMs: (used.user + used.system) / 1000 };
  };
  // A command that copies nothing: what the first session on a connection costs the builder.
  const ssh2True = async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    const leased = await acquireMachine(pool, machine, { env, sshConfigFile: sshConfig });
    if (!leased.ok) throw new Error(leased.failure.cause);
    const client = leased.lease.connection.client;
    const first = await timedExec(client, ['true']);
    const second = await timedExec(client, ['true']);
    leased.lease.release();
    await pool.close();
    return { first, second };
  };
  const rows = new Map<string, { ms: number[]; cpuMs: number[] }>();
  const add = (label: string, result: { ms: number; cpuMs: number }) => {
    const row = rows.get(label) ?? { ms: [], cpuMs: [] };
    row.ms.push(result.ms);
    row.cpuMs.push(result.cpuMs);
    rows.set(label, row);
  };
  for (let round = 0; round < rounds; round++) {
    const login = await ssh('true');
    add('OpenSSH login alone (ssh host true)', login);
    const minus = (r: { ms: number; cpuMs: number }) => ({ ms: r.ms - login.ms, cpuMs: r.cpuMs - login.cpuMs });
    add(`OpenSSH up: ssh host 'cat >/dev/null' (- login)`, minus(await ssh('cat >/dev/null', file)));
    add(`OpenSSH down: ssh host 'head -c …' (- login)`, minus(await ssh(`head -c ${bytes} /dev/zero`)));
    const sessions = await ssh2True();
    add('ssh2 exec true, first on a new connection', sessions.first);
    add('ssh2 exec true, second on it', sessions.second);
    add('ssh2 up, exec cat, 64 KiB writes', await ssh2('up', 64 * 1024));
    add('ssh2 up, exec cat, 1 MiB writes', await ssh2('up', 1024 * 1024));
    add('ssh2 up, 1 MiB writes, second copy on it', await ssh2('up', 1024 * 1024, 2));
    add('ssh2 down, exec head', await ssh2('down', 0));
    add('ssh2 down, second copy on it', await ssh2('down', 0, 2));
  }
  fs.rmSync(file);
  console.log(`${mib} MiB over a new connection, median of ${rounds} rounds (wall ms, CPU ms of the SSH side):`);
  for (const [label, row] of rows)
    console.log(
      `  ${label.padEnd(48)} ${median(row.ms).toFixed(0).padStart(6)} ms  CPU ${median(row.cpuMs).toFixed(0)} ms`,
    );
}

async function main() {
  const rounds = Math.max(5, Number(process.argv[2] ?? 7));
  const mib = Number(process.argv[3] ?? 50);
  const lab = await provisionBuilders({ builders: ['healthy'] });
  const nixVersion = await new Promise<string>((resolve) =>
    execFile('nix-build', ['--version'], { encoding: 'utf8' }, (error, stdout) =>
      resolve(error ? 'its version unknown: nix-build --version failed' : `${stdout.trim()}, the machine's`),
    ),
  );
  const created: string[] = [];
  try {
    // An alias of our own for the builder: Nix locks machine slots by URI on the client, and
    // other labs' builds on 'nix-healthy' must not queue with ours.
    const alias = `bench-offload-${lab.slot}`;
    const base = fs.readFileSync(lab.sshConfig, 'utf8');
    const block = base.slice(base.indexOf(`Host ${lab.builders.healthy.alias}\n`)).split('\n\n')[0]!;
    const sshConfig = path.join(lab.dir, 'bench_ssh_config');
    fs.writeFileSync(sshConfig, `${base}\n${block.replace(`Host ${lab.builders.healthy.alias}`, `Host ${alias}`)}\n`);
    const line = machinesLine({ uri: `ssh://${alias}`, systems: lab.system, identityFile: lab.clientKey });
    const machine = parseBuilders(line, nix2_8Rules, { localSystem: lab.system }).machines[0]!;
    const env = lab.env({ NIX_SSHOPTS: `-F ${sshConfig}` });

    if (process.argv[4] === 'only-channels') {
      await channels(lab.dir, machine, sshConfig, alias, env, rounds, mib);
      return;
    }
    let counter = 0;
    const instantiate = async (kind: 'trivial' | 'big'): Promise<string> => {
      const nonce = `${process.pid}-${Date.now().toString(36)}-${counter++}`;
      let inputs = '';
      let script = 'echo $nonce > $out';
      if (kind === 'big') {
        const file = path.join(lab.dir, `input-${nonce}`);
        // In 1 MiB pieces, so the bench itself holds no big buffer (the memory figure is ours).
        const fd = fs.openSync(file, 'w');
        for (let i = 0; i < mib; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
        fs.closeSync(fd);
        inputs = `big = builtins.path { path = ${JSON.stringify(file)}; name = "bench-input-${nonce}"; };`;
        script = 'wc -c < $big > $out';
      }
      const expression = `derivation { name = "bench-${kind}-${nonce}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; nonce = ${JSON.stringify(nonce)}; ${inputs} args = [ "-c" ${JSON.stringify(script)} ]; }`;
      const result = await run('nix-instantiate', ['-E', expression], env);
      if (result.code !== 0) throw new Error(result.stderr);
      const drv = result.stdout.trim();
      created.push(drv);
      if (kind === 'big') fs.rmSync(path.join(lab.dir, `input-${nonce}`));
      return drv;
    };

    const warmPool = new ConnectionPool({ idleMs: 600_000 });
    // How much this process's memory grows during an offload (sampled): streaming keeps it far
    // below the size of what is copied.
    let rssGrowth = 0;
    const ours = async (drv: string, pool: ConnectionPool) => {
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const started = performance.now();
      const result = await offload({ machine, drvPath: drv, pool, sshConfigFile: sshConfig, env });
      const ms = performance.now() - started;
      clearInterval(sampler);
      rssGrowth = Math.max(rssGrowth, peak - before);
      if (!result.ok)
        throw new Error(`offload failed: ${result.cause}: ${result.message}\n${result.logTail.join('\n')}`);
      return { ms, phases: result.phases, toBuilder: result.bytesToBuilder };
    };
    // One warm-up offload so the kept pool holds a connection (as after a probe).
    await ours(await instantiate('trivial'), warmPool);

    for (const kind of ['trivial', 'big'] as const) {
      const times = { nix: [] as number[], cold: [] as number[], warm: [] as number[] };
      const anchorFailures: string[] = [];
      const phases = new Map<OffloadPhase, number[]>();
      let bytes = 0;
      for (let round = 0; round < rounds; round++) {
        const drvs = { nix: await instantiate(kind), cold: await instantiate(kind), warm: await instantiate(kind) };
        const contenders = ['nix', 'cold', 'warm'] as const;
        const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
        for (const who of order) {
          if (who === 'nix') {
            // A failed anchor is said, not dropped: its rounds give no ratio.
            await nixBuild(drvs.nix, line, env).then(
              (ms) => times.nix.push(ms),
              (error: Error) => anchorFailures.push(error.message),
            );
          } else {
            const pool = who === 'cold' ? new ConnectionPool({ idleMs: 1000 }) : warmPool;
            const result = await ours(drvs[who], pool);
            if (who === 'cold') await pool.close();
            times[who].push(result.ms);
            bytes = result.toBuilder;
            if (who === 'warm')
              for (const p of result.phases) phases.set(p.phase, [...(phases.get(p.phase) ?? []), p.ms]);
          }
        }
      }
      const nix = times.nix.length > 0 ? median(times.nix) : NaN;
      const cold = median(times.cold);
      const warm = median(times.warm);
      const ratio = (ms: number) =>
        Number.isNaN(nix) ? 'no ratio: the anchor failed' : `ours / nix = ${(ms / nix).toFixed(2)}`;
      const label =
        kind === 'trivial'
          ? 'trivial derivation'
          : `derivation with a ${mib} MiB input (${(bytes / 1024 / 1024).toFixed(1)} MiB streamed)`;
      console.log(`${label}, median of ${rounds} rounds:`);
      console.log(
        `  nix-build --builders '<same machine>' -j0 (${nixVersion}): ${Number.isNaN(nix) ? 'failed' : `${nix.toFixed(0)} ms`}`,
      );
      if (anchorFailures.length > 0)
        console.log(`  the anchor failed in ${anchorFailures.length} of ${rounds} rounds: ${anchorFailures[0]}`);
      console.log(`  ours, new connection:                     ${cold.toFixed(0)} ms  (${ratio(cold)})`);
      console.log(`  ours, pooled connection:                  ${warm.toFixed(0)} ms  (${ratio(warm)})`);
      console.log(
        `  ours, pooled, by phase: ${[...phases].map(([phase, ms]) => `${phase} ${median(ms).toFixed(0)} ms`).join(', ')}`,
      );
    }
    await warmPool.close();
    await channels(lab.dir, machine, sshConfig, alias, env, rounds, mib);
    console.log(
      `largest growth of this process's RSS during one offload: ${(rssGrowth / 1024 / 1024).toFixed(1)} MiB (the copies are streamed, not held)`,
    );
  } finally {
    await lab.stop();
    // The bench's derivations, their inputs and outputs are garbage here: drop them (best effort).
    const paths = created.flatMap((drv) => {
      const parsed = parseDerivation(fs.readFileSync(drv, 'utf8'));
      return [drv, ...parsed.inputSrcs, ...parsed.outputs.map((output) => output.path)].filter((p) => fs.existsSync(p));
    });
    await run('nix-store', ['--delete', ...paths], lab.env());
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
