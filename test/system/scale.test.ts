// 200 builders checked at once through the language server, as Check All in the view does
// (nixBuilders/probe, results streamed as nixBuilders/health): aliases of the lab's builders
// (ssh config Host entries, loopback only), most of them healthy, some at a closed port and some
// at a port that accepts TCP and never answers. It holds that:
//   - no failure is invented: each alias's result is its target's (status and finding codes);
//   - memory (heap and RSS after a full GC, read inside the server) and open descriptors (its
//     /proc/<pid>/fd) come back to where they were: a second round of 200 leaves them as the
//     first did;
//   - the logins at once to one sshd stay below its MaxStartups (counted from its log, in log
//     order: opened and not yet accepted), so it never drops one at random;
//   - the server answers other requests while results stream in: a listBuilders sent after the
//     first result is answered before the last one arrives (order, not time).
//   node --import tsx --test test/system/scale.test.ts   (as root)
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  healthNotification,
  listBuildersRequest,
  probeRequest,
  serverInfoRequest,
  type MachineHealth,
} from '../../server/src/protocol';
import { DEFAULT_LOGINS_PER_SSHD } from '../../server/src/health/connectSlots';
import { LspClient } from '../lsp/helpers/lspClient';
import { provisionBuilders, type BuilderLab } from './fixture';
import { aliasConfig } from './fixture/aliasConfig';
import { labCanRun } from './fixture/gate';

type Target = 'healthy' | 'healthyNg' | 'closedPort' | 'silent';
/** How many lines each target has, its own line included: 200 in all. */
const LINES: Record<Target, number> = { healthy: 92, healthyNg: 92, closedPort: 8, silent: 8 };

/** What a result says, for comparing an alias with its target. */
const verdict = (health: MachineHealth) =>
  `${health.status}: ${health.findings
    .map((f) => f.code)
    .sort()
    .join(', ')}${health.facts.system ? ` (${health.facts.system})` : ''}`;

/**
 * The most connections an sshd log (LogLevel VERBOSE) shows open at once, and the most of them
 * not yet logged in (what sshd's MaxStartups counts), in the order it logged them.
 */
function atOnce(log: string): { open: number; loggingIn: number } {
  const open = new Set<string>();
  const loggingIn = new Set<string>();
  const most = { open: 0, loggingIn: 0 };
  for (const line of log.split('\n')) {
    const opened = /^Connection from \S+ port (\d+) on /.exec(line);
    const accepted = /^Accepted publickey for \S+ from \S+ port (\d+) /.exec(line);
    const closed = /(?:closed by|Disconnected from|Closing connection to|disconnect from|reset by)\b.* port (\d+)/.exec(
      line,
    );
    if (opened) {
      open.add(opened[1]!);
      loggingIn.add(opened[1]!);
    } else if (accepted) loggingIn.delete(accepted[1]!);
    else if (closed) {
      open.delete(closed[1]!);
      loggingIn.delete(closed[1]!);
    }
    most.open = Math.max(most.open, open.size);
    most.loggingIn = Math.max(most.loggingIn, loggingIn.size);
  }
  return most;
}

describe('200 builders checked at once', { skip: !labCanRun() }, () => {
  let lab: BuilderLab<Target>;
  let dir: string;
  let client: LspClient;
  const report = () => join(dir, 'memory.json');
  let sequence = 0;
  /** Heap and RSS after a full GC in the server, and its open descriptors. */
  const memory = async () => {
    const pid = client.process.pid!;
    process.kill(pid, 'SIGUSR2');
    for (;;) {
      if (existsSync(report())) {
        const now = JSON.parse(readFileSync(report(), 'utf8')) as { sequence: number; heapUsed: number; rss: number };
        if (now.sequence > sequence) {
          sequence = now.sequence;
          return { heap: now.heapUsed, rss: now.rss, fds: readdirSync(`/proc/${pid}/fd`).length };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const aliasOf = new Map<string, Target>();
  const targetUri = (target: Target) => lab.builders[target].uri;

  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy', 'healthyNg', 'closedPort', 'silent'] });
    dir = mkdtempSync(join(lab.dir, 'scale-'));
    const aliases: Record<string, string> = {};
    const lines: string[] = [];
    for (const target of Object.keys(LINES) as Target[]) {
      const builder = lab.builders[target];
      aliasOf.set(builder.uri, target);
      lines.push(`${builder.uri} ${lab.system} ${lab.clientKey}`);
      for (let i = 1; i < LINES[target]; i++) {
        const alias = `${builder.alias}-scale-${i}`;
        aliases[alias] = builder.alias;
        const uri = `${builder.protocol}://${alias}`;
        aliasOf.set(uri, target);
        lines.push(`${uri} ${lab.system} ${lab.clientKey}`);
      }
    }
    const sshConfig = aliasConfig(lab, 'scale_ssh_config', aliases);
    writeFileSync(join(dir, 'machines'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'nix.conf'), `builders = @${join(dir, 'machines')}\n`);
    const env: NodeJS.ProcessEnv = {
      ...lab.env(),
      // Nix's ssh and ours read this config (a -F in NIX_SSHOPTS wins over the setting).
      NIX_SSHOPTS: `-F ${sshConfig}`,
      NIX_CONF_DIR: dir,
      NIX_USER_CONF_FILES: join(dir, 'none'),
      NIXRB_MEMORY_REPORT: report(),
    };
    delete env.NIX_CONFIG;
    client = await LspClient.start({
      env,
      initializationOptions: { trusted: true },
      runAs: (command, args) => [
        command,
        ['--expose-gc', '--require', join(__dirname, 'scale/memoryReport.cjs'), ...args],
      ],
    });
    // The default stage timeout (10 s): on a loaded machine a shorter one could fail a healthy login.
    client.settings = { nixVersion: '2.8', sshConfigFile: sshConfig };
  });
  after(async () => {
    await client?.stop();
    await lab?.stop();
  });

  test('each alias as its target, memory and descriptors back, connections bounded, the server answering meanwhile', async () => {
    const list = await client.connection.sendRequest(listBuildersRequest);
    const machines = list.sources.flatMap((source) => source.machines);
    assert.equal(machines.length, 200, JSON.stringify(list.sources.map((s) => [s.label, s.error])));

    // The targets alone first: what each alias must say, and the modules and pool warmed up.
    const targets = (Object.keys(LINES) as Target[]).map(targetUri);
    const alone = await client.connection.sendRequest(probeRequest, {
      ids: machines.filter((m) => targets.includes(m.uri)).map((m) => m.id),
    });
    const expected = new Map(alone.map((health) => [aliasOf.get(health.uri)!, verdict(health)]));
    assert.match(expected.get('healthy')!, /^up: ok/);
    assert.match(expected.get('healthyNg')!, /^up: ok/);
    assert.match(expected.get('closedPort')!, /^down: connection-refused/);
    assert.match(expected.get('silent')!, /^down: banner-timeout/);
    const start = await memory();

    const rounds: { heap: number; rss: number; fds: number }[] = [];
    for (let round = 0; round < 2; round++) {
      const results: MachineHealth[] = [];
      let answeredAfter: number | undefined;
      let asked = false;
      const listening = client.connection.onNotification(healthNotification, (health) => {
        if (health.status === 'probing') return;
        results.push(health);
        if (asked) return;
        asked = true;
        // Sent while the other 199 are still being checked: answered before the last result.
        void Promise.all([
          client.connection.sendRequest(listBuildersRequest),
          client.connection.sendRequest(serverInfoRequest),
        ]).then(() => (answeredAfter = results.length));
      });
      const logsBefore = (['healthy', 'healthyNg'] as const).map(
        (t) => readFileSync(lab.builders[t].sshdLog, 'utf8').length,
      );
      const answer = await client.connection.sendRequest(probeRequest, {});
      listening.dispose();

      assert.equal(answer.length, 200);
      const wrong = answer
        .filter((health) => verdict(health) !== expected.get(aliasOf.get(health.uri)!))
        .map((health) => `${health.uri}: ${verdict(health)} (its target: ${expected.get(aliasOf.get(health.uri)!)})`);
      assert.deepEqual(wrong, [], `round ${round + 1}: results that are not their target's`);
      assert.equal(results.length, 200, 'one streamed result per machine');
      assert.ok(answeredAfter !== undefined && answeredAfter < 200, `answered after ${answeredAfter} of 200 results`);

      (['healthy', 'healthyNg'] as const).forEach((t, i) => {
        const log = readFileSync(lab.builders[t].sshdLog, 'utf8').slice(logsBefore[i]);
        const most = atOnce(log);
        console.log(
          `round ${round + 1}: ${t}'s sshd saw ${most.open} connections at once, ${most.loggingIn} of them logging in; listBuilders answered after ${answeredAfter} of 200 results`,
        );
        // sshd drops new connections at random from MaxStartups (default 10) unauthenticated on.
        assert.ok(
          most.loggingIn <= DEFAULT_LOGINS_PER_SSHD,
          `${t}: ${most.loggingIn} logins at once (bound ${DEFAULT_LOGINS_PER_SSHD})`,
        );
        assert.ok(most.open > 1, `${t}: the probes did not overlap (${most.open} at once)`);
      });
      rounds.push(await memory());
    }
    const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MB`;
    const said = [start, ...rounds].map((m) => `heap ${mb(m.heap)}, RSS ${mb(m.rss)}, ${m.fds} fds`).join(' → ');
    const [first, second] = rounds as [(typeof rounds)[0], (typeof rounds)[0]];
    // The pool keeps one connection per destination (the same two as after the warm-up).
    assert.ok(first.fds <= start.fds + 2 && second.fds <= start.fds + 2, `descriptors not back: ${said}`);
    // A second round keeps the same results (the last per machine), so it must not grow.
    assert.ok(second.heap - first.heap < 4 * 1024 ** 2, `heap grew in the second round: ${said}`);
    assert.ok(first.heap - start.heap < 16 * 1024 ** 2, `heap after 200 results: ${said}`);
    assert.ok(second.rss - first.rss < 32 * 1024 ** 2, `RSS grew in the second round: ${said}`);
    console.log(`memory: ${said}`);
  });
});
