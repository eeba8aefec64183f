// A builder's SSH session lost in the middle of `nix-builders build` (issue 9, item 3): its sshd
// killed or frozen while the builder builds or while the outputs come back. Whatever goes, the
// CLI must end with a failure that names the lost connection, leave no process of its own
// behind (a local `nix-store --import` holds the store's big-lock for as long as it lives), and
// the local store must take the next import and build at once.
// Three ways to lose it, each a different path through ssh2:
//   - the session's privileged sshd (`sshd: user [priv]`) killed while the builder builds: the
//     build's channel goes on (its unprivileged child serves it), but a new command is refused
//     ("Unable to exec") though the connection still looks open: the reported hang when each
//     step was a command of its own. Over one `nix-store --serve` session no new command is
//     needed, so the build completes; a later build refused a command gets a new connection;
//   - the whole session (monitor and child) killed as the outputs come back: the TCP connection
//     closes under the copy;
//   - the session frozen (SIGSTOP): a half-open peer that sends nothing, not even a FIN; only
//     the keepalives notice.
// (The monitor alone killed once the copy back runs changes nothing: that channel is served by
// the child, and the build succeeds.)
//   node --import tsx --test test/system/lost-session.test.ts   (after npm run build)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { offload } from '../../server/src/dispatch/offload';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { ConnectionPool } from '../../server/src/ssh/pool';
import { childrenOf, provisionBuilders, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';
import { commandLine, processState, processesWithEnv, sshSessions } from './fixture/sessions';

const cli = join(__dirname, '../../dist/cli.js');
/** Every process the CLI starts inherits it: how we find what it left behind. */
const TAG = 'NIXRB_LOST_SESSION_TEST';
/** Only a guard against a hang: the test asserts how the CLI ended, not how fast. */
const guardMs = Number(process.env.NIXRB_TEST_GUARD_MS ?? 120_000);

let lab: BuilderLab<'healthy'>;
let dir: string;
const hostDir = 'hosts/healthy/nix';

type Phase = 'build' | 'copy-outputs';
type Blow = 'kill-monitor' | 'kill-session' | 'freeze-session';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** From the blow to the CLI's exit. */
  msAfterBlow: number;
  /** From the CLI's `» copy-outputs` line to its exit. */
  msAfterCopyOutputs: number;
  /** The CLI had to be killed by the guard (it hung). */
  hung: boolean;
  left: Array<{ pid: number; command: string }>;
}

function sessions() {
  return sshSessions(lab.dir, hostDir, lab.user);
}

function strike(blow: Blow): number[] {
  const { monitors, children } = sessions();
  assert.equal(monitors.length, 1, `one SSH session on nix-healthy (ours), found ${JSON.stringify(sessions())}`);
  const targets = blow === 'kill-monitor' ? monitors : [...monitors, ...children];
  for (const pid of targets) process.kill(pid, blow === 'freeze-session' ? 'SIGSTOP' : 'SIGKILL');
  return targets;
}

/** A .nix file whose build prints a line, sleeps, then writes `bytes` random bytes. */
function slowBuild(tag: string, bytes: number): string {
  const file = join(dir, `lost-${tag}.nix`);
  writeFileSync(
    file,
    `derivation {
  name = "lost-${tag}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
  args = [ "-c" "echo lost-${tag} building; sleep 3; head -c ${bytes} /dev/urandom > $out" ];
}\n`,
  );
  return file;
}

/** `nix-builders build` on nix-healthy, striking its session when `phase` is reached. */
function buildAndStrike(phase: Phase, blow: Blow, bytes = 1024): Promise<Run> {
  const tag = randomBytes(6).toString('hex');
  const file = slowBuild(tag, bytes);
  const machines = join(dir, 'machines');
  writeFileSync(machines, `${lab.builders.healthy.machinesLine}\n`);
  const env = lab.env({ [TAG]: tag });
  const child = spawn(
    process.execPath,
    [cli, 'build', file, '--on', 'nix-healthy', '--machines', machines, '--ssh-config', lab.sshConfig],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let stderr = '';
  let struck: number | undefined;
  let copyOutputsAt: number | undefined;
  let frozen: number[] = [];
  const trigger = phase === 'build' ? `lost-${tag} building` : '» copy-outputs';
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (copyOutputsAt === undefined && stderr.includes('» copy-outputs')) copyOutputsAt = Date.now();
    if (struck === undefined && stderr.split('\n').some((line) => line.startsWith(trigger))) {
      struck = Date.now();
      const hit = strike(blow);
      if (blow === 'freeze-session') frozen = hit;
    }
  });
  return new Promise((resolve) => {
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, guardMs);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      const msAfterBlow = struck === undefined ? NaN : Date.now() - struck;
      const msAfterCopyOutputs = copyOutputsAt === undefined ? NaN : Date.now() - copyOutputsAt;
      const left = processesWithEnv(TAG, tag);
      // Clean up after a failed assertion too: what the CLI left, and the frozen sshd.
      for (const process_ of left) process.kill(process_.pid, 'SIGKILL');
      for (const pid of frozen) process.kill(pid, 'SIGKILL');
      resolve({ code, signal, stderr, msAfterBlow, msAfterCopyOutputs, hung, left });
    });
  });
}

/** The local store takes a new import and a new build at once: no lock is left held. */
function localStoreFree(): void {
  const env = lab.env();
  // An export of no paths: only its end marker.
  const imported = spawnSync('nix-store', ['--import'], { env, input: Buffer.alloc(8), timeout: 30_000 });
  assert.equal(imported.status, 0, `nix-store --import: ${imported.error?.message ?? imported.stderr}`);
  const expression = `derivation { name = "after-lost-${randomBytes(6).toString('hex')}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; args = [ "-c" "echo ok > $out" ]; }`;
  const built = spawnSync('nix-build', ['--no-out-link', '-E', expression], { env, timeout: 30_000, encoding: 'utf8' });
  assert.equal(built.status, 0, `nix-build: ${built.error?.message ?? built.stderr}`);
}

function assertLost(run: Run, phaseWords: RegExp): void {
  assert.equal(run.hung, false, `the CLI did not exit (killed by the test's guard); stderr:\n${run.stderr}`);
  assert.deepEqual(run.left, [], 'no process of the CLI is left');
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /nix-builders: connection-lost: /, run.stderr);
  assert.match(run.stderr, phaseWords, run.stderr);
  localStoreFree();
}

if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy'] });
    dir = mkdtempSync(join(lab.dir, 'lost-session-'));
  });
  after(async () => lab?.stop());

  test('the finders see what is there: a tagged process here, an SSH session on the builder', async () => {
    const tag = randomBytes(6).toString('hex');
    const sleeper = spawn('sleep', ['30'], { env: { ...process.env, [TAG]: tag }, stdio: 'ignore' });
    try {
      await new Promise((resolve) => sleeper.once('spawn', resolve));
      assert.deepEqual(
        processesWithEnv(TAG, tag).map((p) => p.pid),
        [sleeper.pid],
      );
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((resolve) => sleeper.once('close', resolve));
    assert.deepEqual(processesWithEnv(TAG, tag), []);

    const ssh = spawn('ssh', ['-F', lab.sshConfig, 'nix-healthy', 'sleep 30'], { env: lab.env(), stdio: 'ignore' });
    try {
      let found = sessions();
      // The monitor forks the unprivileged child once the login is done.
      for (let i = 0; i < 200 && (found.monitors.length === 0 || found.children.length === 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        found = sessions();
      }
      assert.equal(found.monitors.length, 1, JSON.stringify(found));
      assert.equal(found.children.length, 1, JSON.stringify(found));
      assert.equal(processState(found.monitors[0]!) !== undefined, true);
    } finally {
      ssh.kill('SIGKILL');
    }
  });

  test("the builder's sshd monitor killed during the build: the build goes on over its one session, the CLI succeeds, nothing left", async (t) => {
    // Every step after the kill is a command on the session already open (served by the
    // session's unprivileged child), so no new command is refused, as it was with one exec per step.
    const run = await buildAndStrike('build', 'kill-monitor');
    assert.equal(run.hung, false, `the CLI did not exit (killed by the test's guard); stderr:\n${run.stderr}`);
    assert.deepEqual(run.left, [], 'no process of the CLI is left');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Built on ssh:\/\/nix-healthy/);
    localStoreFree();
    t.diagnostic(`kill of [priv] to CLI exit: ${run.msAfterBlow} ms`);
  });

  test('the whole SSH session killed as the outputs come back: connection-lost, nothing left', async (t) => {
    const run = await buildAndStrike('copy-outputs', 'kill-session', 32 * 1024 * 1024);
    assertLost(run, /while copying the outputs back/);
    t.diagnostic(`kill to CLI exit: ${run.msAfterBlow} ms`);
  });

  test('a builder that stops answering (its sshd frozen) during the build: keepalive ends it', async (t) => {
    const run = await buildAndStrike('build', 'freeze-session');
    assertLost(run, /stopped answering|while building/);
    t.diagnostic(`SIGSTOP to CLI exit: ${run.msAfterBlow} ms`);
  });

  test('a builder that stops answering as the outputs come back: keepalive ends it', async (t) => {
    const run = await buildAndStrike('copy-outputs', 'freeze-session', 32 * 1024 * 1024);
    assertLost(run, /stopped answering|while copying the outputs back/);
    t.diagnostic(`SIGSTOP to CLI exit: ${run.msAfterBlow} ms`);
  });

  test("the language server's path (offload with its pool): the monitor killed mid-build, the build still arrives, no child left, and the next build on the pool succeeds", async () => {
    const tag = randomBytes(6).toString('hex');
    const file = slowBuild(tag, 1024);
    const instantiated = spawnSync('nix-instantiate', [file], { env: lab.env(), encoding: 'utf8' });
    assert.equal(instantiated.status, 0, instantiated.stderr);
    const drvPath = instantiated.stdout.trim();
    const [machine] = parseBuilders(lab.builders.healthy.machinesLine, nix2_8Rules, {
      localSystem: lab.system,
    }).machines;
    const pool = new ConnectionPool({ idleMs: 60_000 });
    try {
      let struck = false;
      const result = await offload({
        machine: machine!,
        drvPath,
        pool,
        sshConfigFile: lab.sshConfig,
        env: lab.env(),
        onLog: (line) => {
          if (!struck && line === `lost-${tag} building`) {
            struck = true;
            strike('kill-monitor');
          }
        },
      });
      assert.ok(struck, 'the build ran');
      assert.ok(result.ok, JSON.stringify(result));
      const ours = childrenOf(process.pid)
        .map((pid) => commandLine(pid))
        .filter((command) => command.startsWith('nix-store'));
      assert.deepEqual(ours, [], 'no nix-store child of the server is left');
      localStoreFree();
      // The next build on the same pool succeeds: on the session kept open (still served by the
      // session's child), or, if the connection no longer starts commands, on a new one.
      const next = spawnSync('nix-instantiate', [slowBuild(randomBytes(6).toString('hex'), 16)], {
        env: lab.env(),
        encoding: 'utf8',
      });
      const rebuilt = await offload({
        machine: machine!,
        drvPath: next.stdout.trim(),
        pool,
        sshConfigFile: lab.sshConfig,
        env: lab.env(),
      });
      assert.ok(rebuilt.ok, JSON.stringify(rebuilt));
      assert.ok(pool.stats().opened <= 2);
    } finally {
      await pool.close();
    }
  });
}
