// The offload speaks `nix-store --serve --write` (dispatch/serveSession.ts): every remote step
// of a build is a command on ONE program on the builder, as with Nix's own build hook. Held on
// the lab's builders of each Nix the lab has (the machine's 2.8, and the chroots' 2.26 and
// 2.34), over ssh:// and ssh-ng://, and on the builder whose login shell greets: a dependency
// chain a → b → c is sent, built there (its log streamed from the session's stderr), and its
// output comes back with its references; the SSH connection ran exactly one command for it.
// Then what the session adds: the next build on the pooled connection runs no command at all
// (the session was kept), a kept session that died is replaced without an error, none is kept
// with builders-use-substitutes, a big output comes back whole from Nix 2.34 (which no longer
// exports over the protocol) and a cancel during that copy leaves nothing half-imported, and
// remote-store reaches the builder's nix-store.
// Commands are counted at ssh2's Client.exec, which every remote command of ours goes through.
//   node --import tsx --test test/system/serve-session.test.ts
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ssh2';
import { ConnectionPool } from '../../server/src/ssh/pool';
import {
  processesOf,
  provisionBuilders,
  run,
  versionBuilderNames,
  type BuilderLab,
  type BuilderName,
  type VersionBuilderName,
} from './fixture';
import { labCanRun, labReleasesThatRun } from './fixture/gate';
import * as localStore from './fixture/localStore';
import { outputOf } from './fixture/localStore';

const labRuns = labCanRun();
const RELEASES = labRuns ? labReleasesThatRun() : [];
type Name = BuilderName | VersionBuilderName;
const BUILDERS: Name[] = [
  'healthy',
  'healthyNg',
  'noisy',
  ...RELEASES.flatMap((version) => versionBuilderNames(version).slice(0, 2)),
];

let lab: BuilderLab<Name>;
let pool: ConnectionPool;
const { instantiate, offloadOn } = localStore.labStore<Name>(
  () => lab,
  () => pool,
);

/** The command lines of every SSH exec this process makes while `work` runs. */
async function execsDuring<T>(work: () => Promise<T>): Promise<{ value: T; commands: string[] }> {
  const commands: string[] = [];
  const original = Client.prototype.exec;
  Client.prototype.exec = function (this: Client, command: string, ...rest: unknown[]) {
    commands.push(command);
    return (original as unknown as (...args: unknown[]) => Client).call(this, command, ...rest);
  } as unknown as typeof Client.prototype.exec;
  try {
    return { value: await work(), commands };
  } finally {
    Client.prototype.exec = original;
  }
}

/** The `nix-store --serve` processes on a builder (in its own mount namespace). */
function servingOn(name: Name): number[] {
  const marker = `hosts/${name}/nix`;
  return processesOf(lab.dir).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('--serve') && fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

/** Nix 2.34, which no longer exports over the protocol, where the lab has it. */
const bigOn: Name = RELEASES.includes('2.34') ? 'healthy234' : 'healthy';
const chain = (tag: string) => localStore.referencingChain(lab.system, 'serve', tag);

describe('offload over one nix-store --serve --write', { skip: !labRuns, concurrency: 1 }, () => {
  before(async () => {
    lab = await provisionBuilders({ builders: BUILDERS });
    pool = new ConnectionPool({ idleMs: 30_000 });
  });

  after(async () => {
    await pool?.close();
    await lab?.stop();
  });

  for (const name of BUILDERS)
    test(`${name}: a dependency chain built through one session, its log streamed, its references intact`, async () => {
      const c = await instantiate(chain(localStore.uniqueNonce()), 'c');
      const { value: offloaded, commands } = await execsDuring(() => offloadOn(name, c));
      assert.ok(offloaded.result.ok, JSON.stringify({ ...offloaded.result, log: offloaded.log.slice(-15) }, null, 1));
      assert.equal(offloaded.result.copiedToBuilder, 3, 'the three .drv files');
      assert.equal(commands.length, 1, `one command on the builder, not one per step: ${commands.join(' | ')}`);
      assert.match(commands[0]!, /nix-store --serve --write$/);
      for (const step of ['a', 'b', 'c']) assert.ok(offloaded.log.includes(`building ${step}`), `${step}'s log line`);
      const lines = fs.readFileSync(outputOf(c), 'utf8').split('\n');
      assert.deepEqual(lines.slice(0, 3), ['a', 'b', `c on ${lab.builders[name].hostname}`]);
      const references = await run('nix-store', ['--query', '--references', outputOf(c)], { env: lab.env() });
      assert.deepEqual(references.stdout.trim().split('\n'), [lines[3]], "c's output refers to b's, as on the builder");
    });

  test('the next build on the pooled connection uses the session kept open: no SSH command at all', async () => {
    const first = await offloadOn('healthy', await instantiate(chain(localStore.uniqueNonce()), 'c'));
    assert.ok(first.result.ok);
    const c = await instantiate(chain(localStore.uniqueNonce()), 'c');
    const { value: offloaded, commands } = await execsDuring(() => offloadOn('healthy', c));
    assert.ok(offloaded.result.ok, JSON.stringify(offloaded.result));
    assert.deepEqual(commands, [], 'nothing started on the builder: the kept session did it all');
    assert.ok(offloaded.log.includes('building c'), "the build log came to this offload's listener");
  });

  test('a kept session that died while it waited is replaced, never an error', async () => {
    const first = await offloadOn('healthyNg', await instantiate(chain(localStore.uniqueNonce()), 'c'));
    assert.ok(first.result.ok);
    const serving = servingOn('healthyNg');
    assert.equal(serving.length, 1, 'the kept nix-store --serve runs on the builder');
    for (const pid of serving) process.kill(pid, 'SIGKILL');
    const c = await instantiate(chain(localStore.uniqueNonce()), 'c');
    const { value: offloaded, commands } = await execsDuring(() => offloadOn('healthyNg', c));
    assert.ok(offloaded.result.ok, JSON.stringify(offloaded.result));
    assert.equal(commands.length, 1, 'a new session');
  });

  test(`a 24 MiB output from ${bigOn} comes back whole (NARs framed by their size, checked against their hash), then a cancel mid-copy-back leaves nothing half-imported`, async () => {
    const big = (tag: string) =>
      instantiate(
        `derivation { name = "serve-big-${tag}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; args = [ "-c" "mkdir $out; head -c 25165824 /dev/urandom > $out/blob; echo small > $out/note; ln -s blob $out/link" ]; }`,
      );
    const whole = await big(localStore.uniqueNonce());
    const offloaded = await offloadOn(bigOn, whole);
    assert.ok(offloaded.result.ok, JSON.stringify(offloaded.result));
    assert.ok(offloaded.result.bytesBack > 24 * 1024 * 1024);
    const verified = await run('nix-store', ['--verify-path', outputOf(whole)], { env: lab.env() });
    assert.equal(verified.code, 0, `the local store holds it as Nix hashed it: ${verified.stderr}`);
    assert.equal(fs.readlinkSync(`${outputOf(whole)}/link`), 'blob');

    const controller = new AbortController();
    const cut = await big(localStore.uniqueNonce());
    const cancelled = await offloadOn(bigOn, cut, {
      signal: controller.signal,
      onPhase: (phase) => {
        if (phase === 'copy-outputs') setTimeout(() => controller.abort(), 5);
      },
    });
    assert.ok(!cancelled.result.ok);
    assert.equal(cancelled.result.cause, 'cancelled', cancelled.result.message);
    assert.equal(await localStore.validHere(lab.env(), outputOf(cut)), false, 'not registered here');
    assert.ok(!fs.existsSync(outputOf(cut)), 'and nothing of it in the store directory');
    // The next build on that builder works (the stopped session was not kept).
    const after = await offloadOn(bigOn, await instantiate(chain(localStore.uniqueNonce()), 'c'));
    assert.ok(after.result.ok, JSON.stringify(after.result));
  });

  test("remote-store is honoured: the session's nix-store opens that store (here one it cannot create), not the default", async () => {
    const line = lab.builders.healthy.machinesLine.replace(
      /^\S+/,
      'ssh://nix-healthy?remote-store=/nonexistent-nixrb-store',
    );
    const offloaded = await offloadOn('healthy', await instantiate(chain(localStore.uniqueNonce()), 'c'), {
      machine: localStore.machineOfLine(line, lab.system),
    });
    assert.ok(!offloaded.result.ok, JSON.stringify(offloaded.result));
    assert.equal(offloaded.result.cause, 'remote-nix', offloaded.result.message);
    assert.match(
      [offloaded.result.message, ...offloaded.result.logTail].join('\n'),
      /\/nonexistent-nixrb-store/,
      'Nix on the builder names the store it was told to open',
    );
  });

  test('with builders-use-substitutes a session is never kept (opServe turns substitution off at its first build)', async () => {
    const options = { useSubstitutes: true };
    assert.ok((await offloadOn('healthy', await instantiate(chain(localStore.uniqueNonce()), 'c'), options)).result.ok);
    const c = await instantiate(chain(localStore.uniqueNonce()), 'c');
    const { value: offloaded, commands } = await execsDuring(() => offloadOn('healthy', c, options));
    assert.ok(offloaded.result.ok, JSON.stringify(offloaded.result));
    assert.equal(commands.length, 1);
  });
});
