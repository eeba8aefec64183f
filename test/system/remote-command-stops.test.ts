// A command on a builder that we give up on really stops there: `exec`'s timeout and abort, and
// the probe's stage timeout, leave no process behind on the builder. Looked for with `ps` over a
// second connection, which sees the builder's own PID namespace (the lab mounts its /proc).
//   node --import tsx --test test/system/remote-command-stops.test.ts
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'ssh2';
import { runProbe } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import type { Connection } from '../../server/src/ssh/connect';
import { connectMachine } from '../helpers/connectMachine';
import { exec } from '../../server/src/ssh/remoteCommand';
import { provisionBuilders, type BuilderLab } from './fixture';
import { HOST_HOME } from './fixture/host';
import { labCanRun } from './fixture/gate';

/** The builder's processes whose command line holds `marker`, as `ps` there lists them. */
async function processesWith(client: Client, marker: string): Promise<string[]> {
  const listed = await exec(client, ['ps', '-eo', 'pid=,args='], { timeoutMs: 10_000 });
  assert.equal(listed.code, 0, `ps on the builder: ${listed.stderr || listed.error}`);
  return listed.stdout.split('\n').filter((line) => line.includes(marker));
}

/** Waits (bounded by attempts, not a clock assertion) for the builder to have none of them. */
async function goneOnBuilder(client: Client, marker: string): Promise<string[]> {
  let left: string[] = [];
  // Patient: on a loaded machine the kill over its own channel can take seconds to land.
  for (let attempt = 0; attempt < 300; attempt++) {
    left = await processesWith(client, marker);
    if (left.length === 0) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return left;
}

describe('a command given up on is gone on the builder', { skip: !labCanRun() }, () => {
  let lab: BuilderLab<'healthy'>;
  let watcher: Connection;
  const machine = () => parseBuilders(lab.machines('healthy'), nix2_8Rules, { localSystem: lab.system }).machines[0]!;

  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy'] });
    const connected = await connectMachine(machine(), { env: lab.env() });
    assert.ok(connected.ok, JSON.stringify(!connected.ok && connected.failure));
    watcher = connected.connection;
  });
  after(async () => {
    watcher?.close();
    await lab?.stop();
  });

  async function withConnection(use: (client: Client) => Promise<void>): Promise<void> {
    const connected = await connectMachine(machine(), { env: lab.env() });
    assert.ok(connected.ok, JSON.stringify(!connected.ok && connected.failure));
    try {
      await use(connected.connection.client);
    } finally {
      connected.connection.close();
    }
  }

  test('exec timed out: the command and the children it started are gone', async () => {
    // A shell that waits on a child: the child is not the session's first process.
    const marker = 'sleep 7371';
    await withConnection(async (client) => {
      const run = await exec(client, ['sh', '-c', `${marker}; echo never`], { timeoutMs: 500 });
      assert.equal(run.timedOut, true);
      assert.equal(run.code, null);
      // The connection stays open: only the command may end, not the session around it.
      assert.deepEqual(await goneOnBuilder(watcher.client, marker), [], 'left running on the builder');
    });
  });

  test('exec aborted: the command is gone', async () => {
    const marker = 'sleep 7372';
    await withConnection(async (client) => {
      const controller = new AbortController();
      const running = exec(client, ['sh', '-c', `${marker}; echo never`], {
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      // Abort only once the command runs there: an abort before it started tests nothing.
      let started = false;
      for (let i = 0; i < 600 && !started; i++) {
        started = (await processesWith(watcher.client, marker)).length > 0;
        if (!started) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(started, 'the command never started on the builder');
      controller.abort();
      const run = await running;
      assert.equal(run.aborted, true);
      assert.deepEqual(await goneOnBuilder(watcher.client, marker), [], 'left running on the builder');
    });
  });

  test('the probe timed out on a hanging remote-program: nothing of it is left on the builder', async () => {
    // A remote-program that hangs the way a broken Nix or a login script does: a script whose
    // child sleeps. On the builder it lives in the SSH user's home (on the builder's own /nix).
    const marker = 'sleep 7373';
    const script = path.join(lab.builders.healthy.storeRoot, HOST_HOME.slice('/nix/'.length), 'hanging-nix-store');
    fs.writeFileSync(script, `#!/bin/sh\n${marker}\necho never\n`, { mode: 0o755 });
    const line = lab
      .machines('healthy')
      .replace('ssh://nix-healthy', `ssh://nix-healthy?remote-program=${HOST_HOME}/hanging-nix-store`);
    const [hanging] = parseBuilders(line, nix2_8Rules, { localSystem: lab.system }).machines;
    assert.ok(hanging);
    const result = await runProbe(hanging, {
      env: lab.env(),
      timeoutMs: 8000,
      stageTimeouts: { 'remote-program': 700 },
    });
    assert.ok(
      result.findings.some((finding) => finding.code === 'remote-command-timeout'),
      result.findings.map((f) => f.code).join(' '),
    );
    assert.deepEqual(await goneOnBuilder(watcher.client, marker), [], 'left running on the builder');
  });
});
