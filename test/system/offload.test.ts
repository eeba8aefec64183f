// Offloading builds to the lab's real builders (sshd + nix-daemon per host, each with its own
// store) over our own ssh2 connection, and distributed builds through real Nix:
//   - the output arrives in the local store, and its content proves which builder built it;
//   - a dependency chain goes over once, and later offloads send only what the builder lacks;
//   - a failing build reports build-failed with its log's tail;
//   - cancelling mid-build leaves no nix-store / builder process on the builder and nothing
//     half-imported in either store; cancelling mid-copy leaves no partial path;
//   - an untrusted SSH user fails as untrusted-user; an unverified host key means nothing is sent;
//   - distributed mode spreads two independent derivations over both builders.
// (Our choice of machine against real Nix's: select-differential.test.ts.)
//   node --import tsx --test test/system/offload.test.ts
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDerivation } from '../../server/src/dispatch/derivation';
import { buildDistributed, type DistributedProgress } from '../../server/src/dispatch/distributed';
import { ConnectionPool } from '../../server/src/ssh/pool';
import {
  machinesLine,
  processesOf,
  provisionBuilders,
  readWhereBuilt,
  run,
  sourceFileExpression,
  spreadExpression,
  whereBuiltExpression,
  type BuilderLab,
  type BuilderName,
} from './fixture';
import { aliasConfig } from './fixture/aliasConfig';
import { labCanRun } from './fixture/gate';
import * as localStore from './fixture/localStore';
import { outputOf } from './fixture/localStore';

// Outside CI a machine without the real parts skips (loudly); in CI it fails with the package to install.
const labRuns = labCanRun();

const BUILDERS = [
  'healthy',
  'healthyNg',
  'untrusted',
  'wrongHostKey',
  'unknownHostKey',
  'noisy',
  'pathless',
  'daemonDown',
] as const satisfies readonly BuilderName[];
type Name = (typeof BUILDERS)[number];

let lab: BuilderLab<Name>;
let pool: ConnectionPool;
const nonce = localStore.uniqueNonce;

const { instantiate, localValid, builderValid, offloadOn } = localStore.labStore<Name>(
  () => lab,
  () => pool,
);
const inBuilderStore = (name: Name, storePath: string) =>
  fs.existsSync(path.join(lab.builders[name].storeDir, path.basename(storePath)));

const describeResult = (offloaded: localStore.Offloaded) =>
  JSON.stringify({ ...offloaded.result, log: offloaded.log.slice(-15) }, null, 1);

/** Processes of a builder's namespace that are ours to leave behind: nix-store and the build's. */
function leftovers(hostDirMarker: string, marker: string): string[] {
  const found: string[] = [];
  for (const pid of processesOf(lab.dir)) {
    let argv: string[];
    let mounts: string;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    } catch {
      continue;
    }
    if (!mounts.includes(hostDirMarker)) continue;
    const program = path.basename(argv[0] ?? '');
    const line = argv.join(' ');
    // The host's own first process is a script mentioning `nix-store --init`; it is not ours.
    if (program === 'nix-store' || program === 'sleep' || (line.includes(marker) && !line.includes('lab-host')))
      found.push(`${pid}: ${line.slice(0, 120)}`);
  }
  return found;
}

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/** A chain a → b → c (and d, which also needs b), with an optional sleep or failure in c. */
function chainExpression(tag: string, options: { sleep?: number; fail?: boolean } = {}): string {
  const script = (body: string) => JSON.stringify(body);
  return `let
  mk = name: deps: script: derivation {
    inherit name deps; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" script ];
  };
  a = mk "chain-a-${tag}" [] ${script('echo building a; echo a > $out')};
  b = mk "chain-b-${tag}" [ a ] ${script('echo building b; cat $deps > $out; echo b >> $out')};
  c = mk "chain-c-${tag}" [ b ] ${script(`echo building c; sleep ${options.sleep ?? 0}; ${options.fail ? 'echo "c is broken on purpose" >&2; exit 3;' : ''} read host < /proc/sys/kernel/hostname; cat $deps > $out; echo "c on $host" >> $out`)};
  d = mk "chain-d-${tag}" [ b ] ${script('echo building d; cat $deps > $out; echo d >> $out')};
in { inherit a b c d; }`;
}

describe('offload on real builders', { skip: !labRuns }, () => {
  before(async () => {
    lab = await provisionBuilders({ builders: BUILDERS });
    pool = new ConnectionPool({ idleMs: 30_000 });
  });

  after(async () => {
    await pool?.close();
    await lab?.stop();
  });

  for (const name of ['healthy', 'healthyNg'] as const) {
    test(`${name}: the output arrives here, and its content proves ${name} built it`, async (t) => {
      const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
      const out = outputOf(drv);
      const offloaded = await offloadOn(name, drv);
      const result = offloaded.result;
      assert.ok(result.ok, describeResult(offloaded));
      assert.deepEqual(result.outputs, [{ name: 'out', path: out }]);
      assert.ok(await localValid(out), 'the output is valid in the local store');
      const where = readWhereBuilt(out);
      assert.equal(where.hostname, lab.builders[name].hostname);
      assert.equal(where.marker, lab.builders[name].marker, 'only that builder has this /etc/nix/lab-marker');
      assert.ok(inBuilderStore(name, out), 'the builder has the output in its own store');
      assert.equal(result.copiedToBuilder, 1, 'just the .drv: it has no other inputs');
      assert.equal(result.copiedBack, 1);
      assert.ok(result.bytesToBuilder > 0 && result.bytesBack > 0);
      assert.deepEqual(
        result.phases.map((p) => p.phase),
        ['connect', 'copy-inputs', 'build', 'copy-outputs'],
      );
      assert.deepEqual(
        offloaded.phases.map(([phase]) => phase),
        ['connect', 'copy-inputs', 'build', 'copy-outputs'],
      );
      assert.match(offloaded.phases[1]![1], /^1 path, \d+(\.\d)? (B|KiB)$/);
      assert.ok(
        offloaded.log.some((line) => line.includes(`building '${drv}'`)),
        'the build log was streamed',
      );
      assert.ok(!offloaded.log.some((line) => line.includes('--add-root')), 'our own invocation warning is not shown');
      t.diagnostic(`${name}: ${result.phases.map((p) => `${p.phase} ${p.ms} ms`).join(', ')}; total ${result.ms} ms`);
    });
  }

  test('a dependency chain goes over once; later offloads send only what the builder lacks', async (t) => {
    const tag = nonce();
    const expression = chainExpression(tag);
    const [c, d] = await Promise.all([instantiate(expression, 'c'), instantiate(expression, 'd')]);

    const first = await offloadOn('healthy', c);
    assert.ok(first.result.ok, describeResult(first));
    assert.equal(first.result.copiedToBuilder, 3, 'the three .drv files of a → b → c');
    for (const step of ['a', 'b', 'c'])
      assert.ok(
        first.log.some((line) => line === `building ${step}`),
        `${step} was built there`,
      );
    const out = outputOf(c);
    assert.match(fs.readFileSync(out, 'utf8'), /^a\nb\nc on nix-healthy\n$/);

    // d shares a and b: only d's .drv goes over, and b is not built again.
    const second = await offloadOn('healthy', d);
    assert.ok(second.result.ok, describeResult(second));
    assert.equal(second.result.copiedToBuilder, 1, 'only d.drv: none of the shared inputs');
    assert.match(second.phases.find(([phase]) => phase === 'copy-inputs')![1], /^1 path,/);
    assert.ok(second.log.some((line) => line === 'building d'));
    assert.ok(
      !second.log.some((line) => line === 'building b' || line === 'building a'),
      'the shared inputs were not built again',
    );

    // The builder has everything for c: after dropping c's output here, nothing goes over, and
    // only the output comes back.
    const deleted = await run('nix-store', ['--delete', out], { env: lab.env() });
    assert.equal(deleted.code, 0, deleted.stderr);
    const third = await offloadOn('healthy', c);
    assert.ok(third.result.ok, describeResult(third));
    assert.equal(third.result.copiedToBuilder, 0);
    assert.match(third.phases.find(([phase]) => phase === 'copy-inputs')![1], /^0 paths/);
    assert.equal(third.result.copiedBack, 1);
    assert.ok(!third.log.some((line) => line.startsWith('building ')), 'nothing was built');
    assert.ok(await localValid(out));
    t.diagnostic(
      `copied ${first.result.copiedToBuilder}, then ${second.result.copiedToBuilder}, then ${third.result.copiedToBuilder} paths to the builder`,
    );
  });

  test('a failing build reports build-failed with the tail of its log', async () => {
    const c = await instantiate(chainExpression(nonce(), { fail: true }), 'c');
    const offloaded = await offloadOn('healthyNg', c);
    const result = offloaded.result;
    assert.ok(!result.ok, describeResult(offloaded));
    assert.equal(result.cause, 'build-failed', describeResult(offloaded));
    assert.match(
      result.message,
      /The build failed on ssh-ng:\/\/nix-healthy-ng: builder for '.*chain-c-.*\.drv' failed with exit code 3/,
    );
    assert.ok(result.logTail.includes('c is broken on purpose'), result.logTail.join('\n'));
    assert.ok(result.logTail.length <= 25);
    assert.ok(offloaded.log.includes('c is broken on purpose'), 'the log streamed live too');
    assert.deepEqual(
      result.phases.map((p) => p.phase),
      ['connect', 'copy-inputs', 'build'],
    );
    assert.equal(await localValid(outputOf(c)), false);
  });

  // An empty list proves nothing unless the finder sees a process that is there (issue 10).
  test('leftovers() finds a process deliberately left running on the builder', async () => {
    const tag = nonce();
    const hostDir = 'hosts/healthy/nix';
    // Not a nix-store, not a sleep: found by its marker, as a builder script would be.
    const ssh = spawn(
      'ssh',
      ['-F', lab.sshConfig, lab.builders.healthy.alias, `exec /bin/sh -c 'sleep 30; : left-${tag}'`],
      { env: lab.env(), stdio: 'ignore' },
    );
    try {
      await eventually('the marked process shows up on nix-healthy', () =>
        leftovers(hostDir, `left-${tag}`).some((line) => line.includes(`left-${tag}`)),
      );
    } finally {
      ssh.kill('SIGKILL');
    }
    // Closing the ssh client does not end a command without a terminal: end it ourselves.
    for (const line of leftovers(hostDir, `left-${tag}`)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    await eventually('the marked process is gone', () => leftovers(hostDir, `left-${tag}`).length === 0);
  });

  test('cancelling mid-build leaves no nix-store or builder process on the builder, nothing half-imported', async (t) => {
    const tag = nonce();
    const c = await instantiate(chainExpression(tag, { sleep: 60 }), 'c');
    const controller = new AbortController();
    let abortedAt = 0;
    const offloaded = await offloadOn('healthy', c, {
      signal: controller.signal,
      onLog: (line) => {
        // c's builder runs now (it sleeps for a minute): cancel.
        if (line === 'building c' && abortedAt === 0) {
          abortedAt = Date.now();
          setTimeout(() => controller.abort(), 200);
        }
      },
    });
    const returnedAfter = Date.now() - abortedAt - 200;
    const result = offloaded.result;
    assert.ok(!result.ok, describeResult(offloaded));
    assert.equal(result.cause, 'cancelled');
    assert.match(result.message, /Cancelled while building/);
    assert.ok(result.logTail.includes('building c'), 'the tail shows where it stopped');
    const hostDir = `hosts/${'healthy'}/nix`;
    const lingered = await eventually(
      'no nix-store / sleep / builder process left on nix-healthy',
      () => leftovers(hostDir, `chain-c-${tag}`).length === 0,
    );
    assert.deepEqual(leftovers(hostDir, `chain-c-${tag}`), []);
    const out = outputOf(c);
    assert.equal(await builderValid('healthy', out), false, 'no output registered on the builder');
    assert.equal(inBuilderStore('healthy', out), false, 'no partial output on the builder');
    assert.equal(await localValid(out), false, 'no output here');
    assert.equal(fs.existsSync(out), false);
    t.diagnostic(`offload returned ${returnedAfter} ms after the abort; processes gone ${lingered} ms later`);
  });

  test('cancelling mid-copy leaves no partial path on the builder', async (t) => {
    const tag = nonce();
    const file = path.join(lab.dir, `big-${tag}`);
    fs.writeFileSync(file, randomBytes(48 * 1024 * 1024));
    const drv = await instantiate(`derivation {
      name = "big-user-${tag}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
      big = builtins.path { path = ${JSON.stringify(file)}; name = "big-${tag}"; };
      args = [ "-c" "wc -c < $big > $out" ];
    }`);
    fs.rmSync(file);
    const big = parseDerivation(fs.readFileSync(drv, 'utf8')).inputSrcs.find((src) => src.endsWith(`-big-${tag}`))!;
    assert.ok(big);
    const controller = new AbortController();
    const offloaded = await offloadOn('healthyNg', drv, {
      signal: controller.signal,
      onPhase: (phase, detail) => {
        if (phase === 'copy-inputs' && detail.includes('MiB')) setTimeout(() => controller.abort(), 60);
      },
    });
    const result = offloaded.result;
    assert.ok(!result.ok, describeResult(offloaded));
    assert.equal(result.cause, 'cancelled', describeResult(offloaded));
    assert.match(result.message, /Cancelled while copying the inputs/);
    await eventually('no nix-store left on nix-healthy-ng', () => leftovers('hosts/healthyNg/nix', big).length === 0);
    assert.equal(await builderValid('healthyNg', big), false, 'the 48 MiB input is not registered on the builder');
    assert.equal(await builderValid('healthyNg', drv), false);
    t.diagnostic(`phases: ${result.phases.map((p) => `${p.phase} ${p.ms} ms`).join(', ')}`);
    await run('nix-store', ['--delete', drv, big], { env: lab.env() });
  });

  test('an untrusted SSH user fails with untrusted-user, and nothing is registered there', async () => {
    const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
    const offloaded = await offloadOn('untrusted', drv);
    const result = offloaded.result;
    assert.ok(!result.ok, describeResult(offloaded));
    assert.equal(result.cause, 'untrusted-user', describeResult(offloaded));
    assert.match(result.message, /ssh:\/\/nix-untrusted does not trust the SSH user 'nixrb-ssh'/);
    assert.match(result.message, /extra-trusted-users = nixrb-ssh/);
    assert.match(result.message, /lacks a valid signature/);
    assert.equal(await builderValid('untrusted', drv), false);
  });

  test('builders-use-substitutes: the builder is asked to fetch first; with nothing to fetch, the inputs go over as usual', async () => {
    const tag = nonce();
    const drv = await instantiate(sourceFileExpression({ dir: lab.dir, prefix: 'with-src', tag, system: lab.system }));
    const offloaded = await offloadOn('healthy', drv, { useSubstitutes: true });
    assert.ok(offloaded.result.ok, describeResult(offloaded));
    assert.equal(offloaded.result.copiedToBuilder, 2, 'the .drv and its source: the builder has no substituter here');
    assert.equal(fs.readFileSync(outputOf(drv), 'utf8'), `source ${tag}\n`);
  });

  test('a builder whose login shell prints a greeting still works: the greeting is stripped from the copy back', async () => {
    const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
    const offloaded = await offloadOn('noisy', drv);
    assert.ok(offloaded.result.ok, describeResult(offloaded));
    assert.equal(readWhereBuilt(outputOf(drv)).marker, lab.builders.noisy.marker);
  });

  test('Nix not on the remote PATH, or its daemon down: remote-nix, with the fix', async () => {
    const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
    const pathless = await offloadOn('pathless', drv);
    assert.ok(!pathless.result.ok, describeResult(pathless));
    assert.equal(pathless.result.cause, 'remote-nix');
    assert.match(
      pathless.result.message,
      /^Nix is not on the PATH of non-interactive SSH commands on ssh:\/\/nix-pathless \(its shell said: .*nix-store: not found\)\. .*remote-program/,
    );
    const down = await offloadOn('daemonDown', drv);
    assert.ok(!down.result.ok, describeResult(down));
    assert.equal(down.result.cause, 'remote-nix');
    assert.match(
      down.result.message,
      /The nix-daemon on ssh-ng:\/\/nix-daemon-down is not running .*cannot connect to socket/,
    );
  });

  for (const name of ['wrongHostKey', 'unknownHostKey'] as const) {
    test(`${name}: an unverified host key is cause host-key, and nothing reaches the builder`, async () => {
      const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
      const offloaded = await offloadOn(name, drv);
      const result = offloaded.result;
      assert.ok(!result.ok, describeResult(offloaded));
      assert.equal(result.cause, 'host-key', describeResult(offloaded));
      assert.match(
        result.message,
        /Nothing was built or sent: the host key of ssh:\/\/nix-(wrong|unknown)-host-key could not be verified/,
      );
      assert.deepEqual(
        result.phases.map((p) => p.phase),
        ['connect'],
      );
      assert.equal(inBuilderStore(name, drv), false);
      const sshdLog = fs.readFileSync(lab.builders[name].sshdLog, 'utf8');
      assert.doesNotMatch(sshdLog, /Accepted publickey/, 'no login was even attempted');
    });
  }

  test('distributed: two independent derivations go to both builders, with progress and builtOn', async (t) => {
    const expression = spreadExpression({ prefix: 'spread', tag: nonce(), system: lab.system });
    const drv = await instantiate(expression);
    const progress: DistributedProgress[] = [];
    const log: string[] = [];
    const [a, b] = [`spread-a-${lab.slot}`, `spread-b-${lab.slot}`];
    const config = aliasConfig(lab, 'spread_ssh_config', {
      [a]: lab.builders.healthy.alias,
      [b]: lab.builders.healthyNg.alias,
    });
    const [uriA, uriB] = [`ssh://${a}`, `ssh-ng://${b}`];
    const builders = [uriA, uriB]
      .map((uri) => machinesLine({ uri, systems: lab.system, identityFile: lab.clientKey }))
      .join('\n');
    const result = await buildDistributed({
      drvPath: drv,
      builders,
      sshConfigFile: config,
      env: { ...lab.env(), NIX_SSHOPTS: '' },
      onLog: (line) => log.push(line),
      onProgress: (p) => progress.push(p),
    });
    assert.ok(result.ok, JSON.stringify({ result, log: log.slice(-20) }, null, 1));
    const out = outputOf(drv);
    assert.deepEqual(result.outputs, [{ name: 'out', path: out }]);
    assert.ok(await localValid(out));
    const [leftDrv, rightDrv] = parseDerivation(fs.readFileSync(drv, 'utf8'))
      .inputDrvs.map((input) => input.path)
      .sort((a, b) => (a.includes('-left-') ? -1 : b.includes('-left-') ? 1 : 0));
    assert.ok(leftDrv !== undefined && rightDrv !== undefined);
    assert.deepEqual(
      new Set([result.builtOn[leftDrv], result.builtOn[rightDrv]]),
      new Set([uriA, uriB]),
      JSON.stringify(result.builtOn),
    );
    assert.ok(result.builtOn[drv] !== undefined, 'the top derivation was built on a builder too');
    // Both markers in the top output: each builder really built one of them.
    const content = fs.readFileSync(out, 'utf8');
    assert.ok(
      content.includes(lab.builders.healthy.marker) && content.includes(lab.builders.healthyNg.marker),
      content,
    );
    const last = progress[progress.length - 1]!;
    assert.equal(last.done, 3);
    assert.equal(last.expected, 3);
    assert.equal(last.running, 0);
    assert.ok(
      progress.some((p) => p.running === 2),
      'two builds ran at the same time',
    );
    assert.ok(log.some((line) => line.endsWith(` on '${uriB}'`) && line.startsWith('building ')));
    t.diagnostic(
      `distributed: ${result.ms} ms; ${Object.entries(result.builtOn)
        .map(([d, uri]) => `${d.slice(44)} → ${uri}`)
        .join(', ')}`,
    );
  });

  test('distributed: cancelling stops nix-build and the builds on the builders', async (t) => {
    const tag = nonce();
    const drv = await instantiate(`derivation {
      name = "slow-${tag}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
      args = [ "-c" "echo slow-${tag} started; sleep 60; echo > $out" ];
    }`);
    const controller = new AbortController();
    const result = await buildDistributed({
      drvPath: drv,
      builders: lab.machines('healthy'),
      env: lab.env(),
      signal: controller.signal,
      onLog: (line) => {
        if (line === `slow-${tag} started`) setTimeout(() => controller.abort(), 200);
      },
    });
    assert.ok(!result.ok);
    assert.equal(result.cancelled, true);
    assert.match(result.message, /^Cancelled/);
    const ms = await eventually(
      'no nix-store --serve / sleep left on nix-healthy',
      () => leftovers('hosts/healthy/nix', `slow-${tag}`).length === 0,
    );
    assert.equal(await localValid(outputOf(drv)), false);
    t.diagnostic(`the remote build was gone ${ms} ms after nix-build returned`);
  });

  test("distributed: no builder fits → the reason in the user's words", async () => {
    const drv = await instantiate(`derivation {
      name = "needs-gpu-${nonce()}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh";
      requiredSystemFeatures = [ "gpu" ]; args = [ "-c" "echo > $out" ];
    }`);
    const result = await buildDistributed({ drvPath: drv, builders: lab.machines('healthy'), env: lab.env() });
    assert.ok(!result.ok);
    assert.equal(result.cancelled, false);
    assert.match(result.message, /Nix could not hand a derivation to any builder/);
    assert.ok(
      result.logTail.some((line) => /Failed to find a machine for remote build/.test(line)),
      result.logTail.join('\n'),
    );
  });
});
