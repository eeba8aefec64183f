// The system-test fixture, proven with real Nix as the oracle: the healthy builders really build
// (and the output says which one did), two build at once, and every failure fixture makes real
// Nix (or ssh) print the message docs/nix-remote-builds.md names.
//   node --import tsx --test test/system/fixture.test.ts
import assert from 'node:assert/strict';
import { labCanRun } from './fixture/gate';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lookup } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import {
  BUILDER_NAMES,
  childrenOf,
  cleanStaleSlots,
  nixBuildRemote,
  processesOf,
  provisionBuilders,
  readWhereBuilt,
  run,
  whereBuiltExpression,
  type BuilderLab,
  type BuilderName,
  type RunResult,
} from './fixture';

const labRuns = labCanRun();

const nonce = () => randomBytes(6).toString('hex');

/** Runs `ssh -F <lab's ssh_config> [extraArgs] alias command` with the lab's environment. */
function ssh(
  lab: Pick<BuilderLab, 'sshConfig' | 'env'>,
  alias: string,
  command: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  return run('ssh', ['-F', lab.sshConfig, ...extraArgs, alias, command], { env: lab.env(env), timeoutMs: 20_000 });
}

/** What the host of a builder has in its own store (seen from outside). */
function inStoreOf(lab: BuilderLab, name: BuilderName, outPath: string): boolean {
  return fs.existsSync(path.join(lab.builders[name].storeDir, path.basename(outPath)));
}

// Made-up names (a builder that does not resolve) must never reach the machine's resolver:
// `npm test` runs this tier with host names from /etc/hosts only (scripts/test.mjs).
test(
  'a name the lab does not define is not found without asking any DNS server',
  {
    skip:
      process.env.CI !== 'true' &&
      process.env.NIXRB_DNS_SEALED !== '1' &&
      'run through `npm test` (as root) to seal DNS',
  },
  async () => {
    assert.equal(
      process.env.NIXRB_DNS_SEALED,
      '1',
      'the system tier must run through scripts/test.mjs, which seals DNS',
    );
    const hosts = fs
      .readFileSync('/etc/nsswitch.conf', 'utf8')
      .match(/^hosts:\s*(.*)$/m)?.[1]
      ?.trim();
    assert.equal(hosts, 'files');
    await assert.rejects(lookup('nix-nowhere.invalid'), { code: 'ENOTFOUND' });
  },
);

describe('system fixture: real Nix remote builders on this machine', { skip: !labRuns }, () => {
  let lab: BuilderLab;

  before(async () => {
    lab = await provisionBuilders();
    process.stderr.write(`# lab ${lab.dir}: ${BUILDER_NAMES.length} builders provisioned in ${lab.provisionMs} ms\n`);
  });

  after(async () => {
    await lab?.stop();
  });

  test('provisions every builder, with an ssh_config alias, known_hosts and an 8-column machines line', (t) => {
    t.diagnostic(`provisioned in ${lab.provisionMs} ms`);
    assert.deepEqual(Object.keys(lab.builders).sort(), [...BUILDER_NAMES].sort());
    assert.equal(lab.nixSshOpts, `-F ${lab.sshConfig}`);
    const config = fs.readFileSync(lab.sshConfig, 'utf8');
    const knownHosts = fs.readFileSync(lab.knownHosts, 'utf8');
    const addresses = new Set<string>();
    for (const builder of Object.values(lab.builders)) {
      addresses.add(`${builder.address}:${builder.port}`);
      assert.match(builder.address, /^127\.87\.\d+\.\d+$/);
      assert.equal(builder.uri, `${builder.protocol}://${builder.alias}`);
      const block = config.split(/\n(?=Host )/).find((text) => text.startsWith(`Host ${builder.alias}\n`));
      assert.ok(block, `no Host ${builder.alias} in ssh_config`);
      for (const line of [
        `HostName ${builder.address}`,
        `Port ${builder.port}`,
        `User ${lab.user}`,
        `IdentityFile ${builder.identityFile}`,
        'IdentitiesOnly yes',
        `UserKnownHostsFile ${lab.knownHosts}`,
        'GlobalKnownHostsFile /dev/null',
        'StrictHostKeyChecking yes',
        'BatchMode yes',
        'ConnectTimeout 5',
      ]) {
        assert.ok(block.includes(`  ${line}\n`), `Host ${builder.alias} lacks '${line}'`);
      }
      const columns = builder.machinesLine.split(' ');
      assert.equal(columns.length, 8, builder.machinesLine);
      assert.equal(columns[0], builder.uri);
      assert.equal(columns[1], lab.system);
      assert.equal(columns[2], builder.identityFile);
      assert.equal(columns[7], builder.machinesHostKey);
      if (builder.hostPublicKeyLine !== '') {
        assert.equal(Buffer.from(builder.hostKeyBase64, 'base64').toString().trim(), builder.hostPublicKeyLine);
        assert.ok(fs.existsSync(path.join(builder.nixConfDir, 'nix.conf')));
      }
    }
    assert.equal(addresses.size, BUILDER_NAMES.length, 'every builder has its own address');
    const healthy = lab.builders.healthy;
    const where = healthy.port === 22 ? healthy.address : `[${healthy.address}]:${healthy.port}`;
    assert.ok(
      knownHosts.includes(`nix-healthy,${where} ${healthy.hostPublicKeyLine.split(' ').slice(0, 2).join(' ')}\n`),
      knownHosts,
    );
    assert.ok(!knownHosts.includes('nix-unknown-host-key'));
    assert.equal(
      lab.builders.wrongHostKey.machinesLine.split(' ')[7] === lab.builders.wrongHostKey.hostKeyBase64,
      false,
    );
    assert.equal(lab.builders.healthy.machinesLine.split(' ')[7], lab.builders.healthy.hostKeyBase64);
  });

  test('ssh reaches a healthy builder: its own hostname, the lab user, Nix on the PATH, its own store', async () => {
    const result = await ssh(
      lab,
      'nix-healthy',
      'hostname; id -un; command -v nix-store nix-daemon; cat /etc/nix/lab-marker; test -d /nix/store && echo store',
    );
    assert.equal(result.code, 0, result.output);
    assert.deepEqual(result.stdout.trim().split('\n'), [
      'nix-healthy',
      lab.user,
      '/usr/bin/nix-store',
      '/usr/bin/nix-daemon',
      lab.builders.healthy.marker,
      'store',
    ]);
  });

  for (const name of ['healthy', 'healthyNg'] as const) {
    test(`${name}: real Nix builds on it, the output says so and lands in the local store`, async () => {
      const builder = lab.builders[name];
      const result = await nixBuildRemote(
        lab.nixSshOpts,
        builder.machinesLine,
        whereBuiltExpression({ nonce: nonce(), system: lab.system }),
      );
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, new RegExp(`building '[^']+' on '${builder.uri}'`));
      const outPath = result.outPath ?? '';
      assert.match(outPath, /^\/nix\/store\/[a-z0-9]{32}-nixrb-where-/);
      const where = readWhereBuilt(outPath);
      assert.equal(where.hostname, builder.hostname);
      assert.equal(where.marker, builder.marker);
      const valid = await run('nix-store', ['--check-validity', outPath], { env: lab.env() });
      assert.equal(valid.code, 0, `not valid in the local store: ${valid.output}`);
      assert.ok(inStoreOf(lab, name, outPath), `not in ${name}'s own store`);
      const other = name === 'healthy' ? 'healthyNg' : 'healthy';
      assert.ok(!inStoreOf(lab, other, outPath), `also in ${other}'s store: the stores are not separate`);
    });
  }

  test('two builders build at the same time and both succeed', async (t) => {
    // Each build waits for the other to have started (a rendezvous in a shared directory), so
    // both succeed only if they really ran at once, however busy the machine is.
    const meeting = fs.mkdtempSync(path.join(os.tmpdir(), 'nixrb-meet-'));
    fs.chmodSync(meeting, 0o1777);
    t.after(() => fs.rmSync(meeting, { recursive: true, force: true }));
    const builds = await Promise.all(
      (['healthy', 'healthyNg'] as const).map(async (name, index) => {
        const builder = lab.builders[name];
        const meetAt = { dir: meeting, me: name, other: index === 0 ? 'healthyNg' : 'healthy' };
        const result = await nixBuildRemote(
          lab.nixSshOpts,
          builder.machinesLine,
          whereBuiltExpression({ nonce: nonce(), system: lab.system, meetAt }),
          180_000,
        );
        assert.equal(result.code, 0, `${name}: ${result.output}`);
        const where = readWhereBuilt(result.outPath ?? '');
        assert.equal(where.hostname, builder.hostname);
        return where;
      }),
    );
    const [a, b] = builds;
    assert.ok(a !== undefined && b !== undefined);
    t.diagnostic(`overlap ${(Math.min(a.end, b.end) - Math.max(a.start, b.start)).toFixed(2)} s`);
    assert.ok(a.start < b.end && b.start < a.end, `the builds did not overlap: ${JSON.stringify(builds)}`);
  });

  test('one machines list with both healthy builders: Nix uses each for one of two derivations', async () => {
    const both = lab.machines('healthy', 'healthyNg');
    const id = nonce();
    const expression = `[ (${whereBuiltExpression({ nonce: `${id}-a`, system: lab.system, sleepSeconds: 1 })}) (${whereBuiltExpression({ nonce: `${id}-b`, system: lab.system, sleepSeconds: 1 })}) ]`;
    const result = await nixBuildRemote(lab.nixSshOpts, both, expression);
    assert.equal(result.code, 0, result.output);
    const hosts = result.stdout
      .trim()
      .split('\n')
      .map((out) => readWhereBuilt(out).hostname)
      .sort();
    assert.deepEqual(hosts, ['nix-healthy', 'nix-healthy-ng']);
  });

  describe('failure fixtures: real Nix prints the real message', { concurrency: true }, () => {
    for (const name of BUILDER_NAMES) {
      const expected = (() => {
        switch (name) {
          case 'healthy':
          case 'healthyNg':
            return undefined;
          case 'wrongHostKey':
            return ['REMOTE HOST IDENTIFICATION HAS CHANGED!', 'Host key verification failed.'];
          case 'unknownHostKey':
            return ['No ED25519 host key is known for nix-unknown-host-key', 'Host key verification failed.'];
          case 'pathless':
            return ['bash: line 1: nix-store: command not found'];
          case 'noisy':
            return ["'nix-store --serve' protocol mismatch from 'nix-noisy', got 'Welcome to nix-noisy"];
          case 'untrusted':
            return ['you are not privileged to build input-addressed derivations'];
          case 'daemonDown':
            return ["cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused"];
          case 'passphraseKey':
          case 'unauthorizedKey':
            return ['Permission denied (publickey).'];
          case 'closedPort':
            return ['Connection refused'];
          case 'silent':
            return ['Connection timed out during banner exchange'];
        }
      })();
      if (expected === undefined) continue;
      test(`${name}: ${expected.join(' … ')}`, async () => {
        const builder = lab.builders[name];
        assert.ok(
          builder.expectedError !== undefined && expected.some((text) => text.includes(builder.expectedError ?? '')),
          `catalog message of ${name} is not among the asserted ones`,
        );
        const result = await nixBuildRemote(
          lab.nixSshOpts,
          builder.machinesLine,
          whereBuiltExpression({ nonce: nonce(), system: lab.system }),
        );
        assert.notEqual(result.code, 0, result.output);
        for (const text of expected)
          assert.ok(result.output.includes(text), `real Nix did not print '${text}':\n${result.output}`);
        if (name !== 'untrusted') {
          assert.ok(result.output.includes(`cannot build on '${builder.uri}'`), result.output);
          assert.ok(
            result.output.includes(
              'unable to start any build; remote machines may not have all required system features.',
            ),
            result.output,
          );
        }
      });
    }

    const sshMessages: [BuilderName, string[]][] = [
      ['wrongHostKey', ['WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!', 'Host key verification failed.']],
      ['unknownHostKey', ['Host key verification failed.']],
      ['passphraseKey', ['Permission denied (publickey).']],
      ['unauthorizedKey', ['Permission denied (publickey).']],
      ['closedPort', ['Connection refused']],
    ];
    for (const [name, expected] of sshMessages) {
      test(`${name} with ssh itself: ${expected.join(' … ')}`, async () => {
        const result = await ssh(lab, lab.builders[name].alias, 'true');
        assert.equal(result.code, 255, result.output);
        for (const text of expected)
          assert.ok(result.stderr.includes(text), `ssh did not print '${text}':\n${result.stderr}`);
      });
    }

    test('passphraseKey: the key is authorised, so it works once its passphrase is given', async () => {
      const askpass = path.join(lab.dir, 'askpass.sh');
      fs.writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${lab.passphrase}'\n`, { mode: 0o700 });
      const result = await ssh(lab, 'nix-passphrase-key', 'hostname', ['-o', 'BatchMode=no'], {
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: 'force',
        DISPLAY: ':0',
      });
      assert.equal(result.code, 0, result.output);
      assert.equal(result.stdout.trim(), 'nix-passphrase-key');
    });

    test('daemonDown: its store was initialised and the socket is stale (the daemon ran, then stopped)', () => {
      const builder = lab.builders.daemonDown;
      assert.ok(fs.existsSync(path.join(builder.storeRoot, 'var/nix/db/db.sqlite')));
      assert.ok(fs.statSync(path.join(builder.storeRoot, 'var/nix/daemon-socket/socket')).isSocket());
    });
  });

  test('a second lab runs alongside on other addresses, and stop() leaves nothing behind', async () => {
    const second = await provisionBuilders({ builders: ['healthy', 'silent', 'closedPort'] });
    try {
      assert.notEqual(second.slot, lab.slot);
      assert.deepEqual(Object.keys(second.builders).sort(), ['closedPort', 'healthy', 'silent']);
      assert.notEqual(second.builders.healthy.address, lab.builders.healthy.address);
      const result = await ssh(second, 'nix-healthy', 'cat /etc/nix/lab-marker');
      assert.equal(result.code, 0, result.output);
      assert.equal(result.stdout.trim(), second.builders.healthy.marker);
      assert.ok(processesOf(second.dir).length > 0);
    } finally {
      await second.stop();
    }
    assert.deepEqual(processesOf(second.dir), []);
    assert.ok(!fs.existsSync(second.dir), `${second.dir} is still there`);
    const again = await ssh(lab, 'nix-healthy', 'true');
    assert.equal(again.code, 0, 'stopping the second lab touched the first');
  });

  test("a crashed run's builders die with it, and the next lab cleans its leftovers", async () => {
    const fixture = path.join(__dirname, 'fixture');
    const script = `require(${JSON.stringify(fixture)}).provisionBuilders({ builders: ['healthy', 'silent'] }).then((lab) => {
      const pid = Number(require('node:fs').readlinkSync('/proc/self'));
      console.log(JSON.stringify({ pid, dir: lab.dir }));
      setInterval(() => {}, 1000);
    });`;
    // The "crashing" process runs under a shell that outlives it, in a PID namespace of its own,
    // only so that its orphans get reaped afterwards (this machine's PID 1 does not reap).
    const shell = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--kill-child',
        '--',
        '/bin/sh',
        '-c',
        'node --import tsx -e "$1" & { wait $!; } 2>/dev/null; sleep 60',
        'crash',
        script,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        cwd: path.join(__dirname, '../..'),
        env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      },
    );
    const shellExited = new Promise((resolve) => shell.once('exit', resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        shell.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n')) resolve(text.split('\n')[0] ?? '');
        });
        shell.once('exit', (code) => reject(new Error(`exited ${code} before provisioning`)));
      });
      const crashed = JSON.parse(line) as { pid: number; dir: string };
      assert.ok(processesOf(crashed.dir).length > 0);
      process.kill(crashed.pid, 'SIGKILL');
      // setpriv --pdeathsig + unshare --kill-child: the builders die with the process that started
      // them (the shell above it is still there, so nothing else killed them).
      const deadline = Date.now() + 5000;
      while (processesOf(crashed.dir).length > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(processesOf(crashed.dir), [], 'builders outlived the crashed process');
      assert.equal(shell.exitCode, null, 'the shell above the crashed process ended too early');
      assert.ok(fs.existsSync(crashed.dir), 'a SIGKILLed process cannot remove its directory');
      const cleaned = cleanStaleSlots(path.dirname(crashed.dir));
      assert.ok(
        cleaned.includes(Number(/lab-(\d+)$/.exec(crashed.dir)?.[1])),
        `slot not cleaned: ${JSON.stringify(cleaned)}`,
      );
      assert.ok(!fs.existsSync(crashed.dir));
      assert.ok(!fs.existsSync(`${crashed.dir}.lock`));
    } finally {
      // Kill the namespace's first process (the shell), not unshare: unshare then reaps it.
      const init = shell.pid === undefined ? [] : childrenOf(shell.pid);
      for (const pid of init) process.kill(pid, 'SIGKILL');
      if (init.length === 0) shell.kill('SIGKILL');
      await shellExited;
    }
  });
});
