// Builders of other Nix versions: the lab's Nix 2.26 and 2.34 builders (each a version lab
// chroot's nix-daemon and sshd, on an overlay of the chroot with its own /nix and /etc/nix), per
// release, against
//   - real Nix as the client (the machine's 2.8 `nix-build --builders … -j0`), over ssh:// and
//     ssh-ng://, and the untrusted ones' refusal;
//   - our probe: up, with that release's facts (its `nix-store --serve` and daemon handshakes),
//     untrusted-user for the untrusted ones, remote-daemon-down for the stopped daemons;
//   - our offload: the output (and a dependency chain) built there and copied back; the
//     untrusted ones refused as untrusted-user, in that release's words;
//   - distributed mode through real Nix 2.8 to both of a release's builders;
//   - our CLI (dist/cli.js: `npm run build`): ping and build --on.
// One lab holds the builders of every release (started in parallel).
//   node --import tsx --test test/system/builders-versions.test.ts
// Needs the version lab's chroots .nix-versions/{trixie,sid} (scripts/nix-versions.sh; `npm test`
// makes them): a release without its chroot skips loudly, and fails in CI.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDistributed, type DistributedProgress } from '../../server/src/dispatch/distributed';
import { offload, type OffloadResult } from '../../server/src/dispatch/offload';
import type { ProbeResult } from '../../server/src/health/probe';
import { runProbe } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { ConnectionPool } from '../../server/src/ssh/pool';
import {
  CATALOG,
  LAB_NIX_VERSIONS,
  LAB_VERSION_LIST,
  nixBuildRemote,
  processesOf,
  provisionBuilders,
  readWhereBuilt,
  run,
  sourceFileExpression,
  spreadExpression,
  versionBuilderNames,
  whereBuiltExpression,
  type BuilderLab,
  type LabNixVersion,
  type VersionBuilderName,
} from './fixture';
import { runCli } from './fixture/cli';
import { mountsUnder } from './fixture/processes';
import { labReleasesThatRun } from './fixture/gate';
import * as localStore from './fixture/localStore';
import { outputOf } from './fixture/localStore';

/** The releases whose chroot is ready here (each other one registers the test that says why). */
const RELEASES = labReleasesThatRun();

/**
 * What each release says where they differ, as seen here (each asserted below; the product
 * relays Nix's own words): a build whose builder exits 3, and a derivation for another system.
 * Both refuse an unsigned path to an untrusted user with "lacks a signature by a trusted key"
 * (2.8: "lacks a valid signature").
 */
const WORDS: Readonly<
  Record<LabNixVersion, { failed: (drv: string) => string; otherSystem: (drv: string, system: string) => string }>
> = {
  '2.26': {
    failed: (drv) => `builder for '${drv}' failed with exit code 3`,
    otherSystem: (drv, system) =>
      `a 'aarch64-linux' with features {} is required to build '${drv}', but I am a '${system}' with features {`,
  },
  '2.34': {
    failed: (drv) => `Cannot build '${drv}': builder failed with exit code 3`,
    otherSystem: (drv, system) =>
      `Cannot build '${drv}': platform mismatch (Required system: 'aarch64-linux'; Current system: '${system}'). Pick a builder`,
  },
};

let lab: BuilderLab<VersionBuilderName>;
let pool: ConnectionPool;
const nonce = localStore.uniqueNonce;

// builderValid asks the builder's own store (its nix-daemon's database, of that release).
const { instantiate, localValid, builderValid, machineOf, offloadOn } = localStore.labStore<VersionBuilderName>(
  () => lab,
  () => pool,
);

const codes = (result: ProbeResult) => result.findings.map((finding) => finding.code);
const describeProbe = (result: ProbeResult) =>
  `${result.uri} ${result.status}\n  stages: ${result.stages.map((s) => `${s.name}:${s.ms}${s.ok ? '' : '!'}`).join(' ')}\n  ${result.findings.map((f) => `${f.code}: ${f.message}`).join('\n  ')}\n  facts: ${JSON.stringify(result.facts)}`;

const describeOffload = (offloaded: { result: OffloadResult; log: string[] }) =>
  JSON.stringify({ ...offloaded.result, log: offloaded.log.slice(-15) }, null, 1);

if (RELEASES.length > 0) {
  before(async () => {
    lab = await provisionBuilders({ builders: RELEASES.flatMap((version) => versionBuilderNames(version)) });
    pool = new ConnectionPool({ idleMs: 30_000 });
  });

  after(async () => {
    await pool?.close();
    const dir = lab?.dir;
    await lab?.stop();
    if (dir !== undefined) {
      assert.deepEqual(processesOf(dir), [], 'no process of the lab is left');
      assert.deepEqual(mountsUnder(dir), [], 'nothing of the lab stays mounted');
      assert.equal(fs.existsSync(dir), false);
    }
  });
}

// The releases' tests run side by side (each on its own builders); within a release, one at a time.
describe('builders of each lab release', { concurrency: true }, () => {
  for (const version of LAB_VERSION_LIST)
    describe(`Nix ${version} builders`, { skip: !RELEASES.includes(version), concurrency: 1 }, () => {
      const { tag } = LAB_NIX_VERSIONS[version];
      const [healthy, healthyNg, untrusted, untrustedNg, daemonDown, daemonDownSsh] = versionBuilderNames(version);
      const names = versionBuilderNames(version);
      /** What the chroot has (scripts/nix-versions.sh installs the suite's nix-bin). */
      const NIX_VERSION = new RegExp(`^${version.replace('.', '\\.')}\\.\\d+$`);

      test(`each runs the chroot's Nix ${version}, reached through the lab's ssh config; the chroot itself is untouched`, async (t) => {
        t.diagnostic(
          `${lab.provisionMs} ms to provision the ${Object.keys(lab.builders).length} builders of ${RELEASES.join(' and ')}`,
        );
        const chroot = lab.builders[healthy].nixRoot;
        assert.ok(
          !fs.readFileSync(path.join(chroot, 'etc/passwd'), 'utf8').includes(`${lab.user}:`),
          "the chroot's /etc/passwd never gains the SSH user",
        );
        assert.equal(
          fs.existsSync(path.join(chroot, 'etc/nix/lab-marker')),
          false,
          "no lab file in the chroot's /etc/nix",
        );
        for (const name of names) {
          const builder = lab.builders[name];
          assert.ok(
            builder.nixRoot !== '' && fs.existsSync(path.join(builder.nixRoot, 'usr/bin/nix-daemon')),
            builder.nixRoot,
          );
          const printed = await run('ssh', ['-F', lab.sshConfig, builder.alias, 'nix-store', '--version'], {
            env: lab.env(),
          });
          assert.equal(printed.code, 0, printed.output);
          assert.match(printed.stdout.trim().replace(/^nix-store \(Nix\) /, ''), NIX_VERSION);
          // Its own store: the chroot's /nix is never written.
          assert.ok(
            fs.existsSync(path.join(builder.storeRoot, 'var/nix/db/db.sqlite')),
            `${name} has its own store database`,
          );
        }
      });

      for (const name of [healthy, healthyNg]) {
        test(`real Nix 2.8 builds on ${name} (${CATALOG[name].protocol}://)`, async () => {
          const builder = lab.builders[name];
          const result = await nixBuildRemote(
            lab.nixSshOpts,
            builder.machinesLine,
            whereBuiltExpression({ nonce: nonce(), system: lab.system }),
          );
          assert.equal(result.code, 0, result.output);
          assert.ok(result.output.includes(`on '${builder.uri}'`), result.output);
          const where = readWhereBuilt(result.outPath!);
          assert.equal(where.hostname, builder.hostname);
          assert.equal(where.marker, builder.marker, 'only that builder has this /etc/nix/lab-marker');
          assert.ok(
            fs.existsSync(path.join(builder.storeDir, path.basename(result.outPath!))),
            'built in its own store',
          );
        });
      }

      for (const name of [untrusted, untrustedNg, daemonDown, daemonDownSsh]) {
        test(`real Nix 2.8 on ${name}: ${CATALOG[name].expectedError}`, async () => {
          const builder = lab.builders[name];
          const result = await nixBuildRemote(
            lab.nixSshOpts,
            builder.machinesLine,
            whereBuiltExpression({ nonce: nonce(), system: lab.system }),
          );
          assert.notEqual(result.code, 0, result.output);
          assert.ok(result.output.includes(builder.expectedError!), result.output);
        });
      }

      for (const name of [healthy, healthyNg]) {
        test(`probe: ${name} is up, every stage ok, with the facts of Nix ${version}`, async (t) => {
          const result = await runProbe(machineOf(name), { env: lab.env(), timeoutMs: 8000 });
          assert.equal(result.status, 'up', describeProbe(result));
          assert.deepEqual(codes(result), ['ok'], describeProbe(result));
          assert.deepEqual(
            result.stages.map((stage) => stage.name),
            ['resolve', 'tcp', 'handshake', 'auth', 'remote-program', 'shell-noise', 'store', 'facts'],
          );
          assert.ok(
            result.stages.every((stage) => stage.ok),
            describeProbe(result),
          );
          const facts = result.facts;
          assert.match(facts.nixVersion ?? '', NIX_VERSION);
          assert.match(facts.daemonNixVersion ?? '', NIX_VERSION);
          // The daemon protocol of newer Nix (1.38 on 2.26 and 2.34) is newer than 2.8's (1.34).
          assert.match(facts.daemonProtocol ?? '', /^1\.(3[5-9]|[4-9]\d)$/, describeProbe(result));
          if (name === healthy) assert.match(facts.serveProtocol ?? '', /^2\.\d+$/, describeProbe(result));
          assert.equal(facts.system, lab.system);
          assert.equal(facts.trusted, true);
          assert.equal(facts.remoteUser, lab.user);
          assert.equal(facts.hostKey?.verifiedBy, 'column 8');
          assert.ok((facts.cores ?? 0) >= 1);
          assert.ok((facts.storeFreeBytes ?? 0) > 0);
          assert.ok(result.findings[0]!.message.includes(`Nix ${version}.`), result.findings[0]!.message);
          t.diagnostic(
            `${name}: Nix ${facts.nixVersion}, serve protocol ${facts.serveProtocol ?? '-'}, daemon protocol ${facts.daemonProtocol}, daemon Nix ${facts.daemonNixVersion}, trust from ${facts.trustSource}; ${result.ms} ms`,
          );
        });
      }

      for (const name of [untrusted, untrustedNg]) {
        test(`probe: ${name} gives untrusted-user (the ${version} daemon says so in its handshake)`, async () => {
          const result = await runProbe(machineOf(name), { env: lab.env(), timeoutMs: 8000 });
          assert.deepEqual(codes(result), ['untrusted-user'], describeProbe(result));
          assert.equal(result.status, 'down', describeProbe(result));
          assert.equal(result.facts.trusted, false);
          assert.equal(result.facts.trustSource, 'handshake');
          assert.match(result.facts.nixVersion ?? '', NIX_VERSION);
        });
      }

      for (const name of [daemonDown, daemonDownSsh]) {
        test(`probe: ${name} gives remote-daemon-down, although nix-daemon --stdio exits without a word${name === daemonDownSsh ? ' and nix-store --serve greets' : ''}`, async () => {
          const result = await runProbe(machineOf(name), { env: lab.env(), timeoutMs: 8000 });
          assert.deepEqual(codes(result), ['remote-daemon-down'], describeProbe(result));
          assert.equal(result.status, 'down');
          assert.match(
            result.findings[0]!.message,
            /cannot connect to socket at '\/nix\/var\/nix\/daemon-socket\/socket'/,
          );
          assert.equal(result.stages.find((stage) => stage.name === 'store')?.ok, false);
        });
      }

      for (const name of [healthy, healthyNg]) {
        test(`offload: built on ${name}, the output copied back here`, async (t) => {
          const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
          const offloaded = await offloadOn(name, drv);
          const result = offloaded.result;
          assert.ok(result.ok, describeOffload(offloaded));
          // The whole outcome at once (offload.test.ts holds each part of it on the 2.8 builders).
          const { hostname, marker } = lab.builders[name];
          assert.deepEqual(
            {
              outputs: result.outputs,
              copied: [result.copiedToBuilder, result.copiedBack],
              phases: result.phases.map((p) => p.phase),
            },
            {
              outputs: [{ name: 'out', path: outputOf(drv) }],
              copied: [1, 1],
              phases: ['connect', 'copy-inputs', 'build', 'copy-outputs'],
            },
          );
          assert.ok(await localValid(outputOf(drv)), 'the output is valid in the local store');
          const where = readWhereBuilt(outputOf(drv));
          assert.deepEqual(
            [where.hostname, where.marker],
            [hostname, marker],
            'built there: its hostname and its own lab-marker',
          );
          assert.ok(
            offloaded.log.some((line) => line.includes(`building '${drv}'`)),
            'the build log was streamed',
          );
          t.diagnostic(
            `${name}: ${result.phases.map((p) => `${p.phase} ${p.ms} ms`).join(', ')}; total ${result.ms} ms`,
          );
        });

        test(`offload: a dependency chain on ${name}, its references intact both ways`, async () => {
          const expression = localStore.referencingChain(lab.system, `chain${tag}`, nonce());
          const c = await instantiate(expression, 'c');
          const offloaded = await offloadOn(name, c);
          assert.ok(offloaded.result.ok, describeOffload(offloaded));
          assert.equal(offloaded.result.copiedToBuilder, 3, 'the three .drv files');
          const out = outputOf(c);
          const lines = fs.readFileSync(out, 'utf8').split('\n');
          assert.deepEqual(lines.slice(0, 3), ['a', 'b', `c on ${lab.builders[name].hostname}`]);
          // c's output refers to b's: the reference came back with it.
          const references = await run('nix-store', ['--query', '--references', out], { env: lab.env() });
          assert.equal(references.code, 0, references.stderr);
          assert.deepEqual(references.stdout.trim().split('\n'), [lines[3]]);
          assert.ok(await localValid(lines[3]!), "b's output came back too");
        });
      }

      for (const name of [untrusted, untrustedNg]) {
        test(`offload: ${name} refuses the unsigned inputs as untrusted-user, in ${version}'s words`, async () => {
          const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
          const offloaded = await offloadOn(name, drv);
          const result = offloaded.result;
          assert.ok(!result.ok, describeOffload(offloaded));
          assert.equal(result.cause, 'untrusted-user', describeOffload(offloaded));
          assert.ok(
            result.message.startsWith(`${lab.builders[name].uri} does not trust the SSH user 'nixrb-ssh'`),
            result.message,
          );
          assert.match(result.message, /lacks a signature by a trusted key/);
          assert.equal(await builderValid(name, drv), false);
        });
      }

      for (const name of [daemonDown, daemonDownSsh]) {
        test(`offload: ${name} says its nix-daemon is not running`, async () => {
          const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
          const offloaded = await offloadOn(name, drv);
          const result = offloaded.result;
          assert.ok(!result.ok, describeOffload(offloaded));
          assert.equal(result.cause, 'remote-nix', describeOffload(offloaded));
          assert.ok(
            result.message.startsWith(`The nix-daemon on ${lab.builders[name].uri} is not running`),
            result.message,
          );
        });
      }

      for (const name of [healthy, healthyNg]) {
        test(`offload: a failing build on ${name} is build-failed with its log, in ${version}'s words`, async () => {
          const drv = await instantiate(`derivation {
          name = "fail${tag}-${nonce()}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
          args = [ "-c" "echo broken on purpose >&2; exit 3" ];
        }`);
          const offloaded = await offloadOn(name, drv);
          const result = offloaded.result;
          assert.ok(!result.ok, describeOffload(offloaded));
          assert.equal(result.cause, 'build-failed', describeOffload(offloaded));
          assert.equal(
            result.message,
            `The build failed on ${lab.builders[name].uri}: ${WORDS[version].failed(drv)}. The last lines of its log are below.`,
          );
          assert.ok(result.logTail.includes('broken on purpose'), result.logTail.join('\n'));
          assert.deepEqual(
            result.phases.map((p) => p.phase),
            ['connect', 'copy-inputs', 'build'],
          );
          assert.equal(await localValid(outputOf(drv)), false);
        });
      }

      test(`offload: a derivation for another system on ${healthy} is build-failed, naming both systems`, async () => {
        const drv = await instantiate(
          `derivation { name = "other-system-${nonce()}"; system = "aarch64-linux"; builder = "/bin/sh"; args = [ "-c" "exit 0" ]; }`,
        );
        const line = lab.builders[healthy].machinesLine.replace(` ${lab.system} `, ` ${lab.system},aarch64-linux `);
        const machine = parseBuilders(line, nix2_8Rules, { localSystem: lab.system }).machines[0]!;
        const result = await offload({ machine, drvPath: drv, pool, sshConfigFile: lab.sshConfig, env: lab.env() });
        assert.ok(!result.ok);
        assert.equal(result.cause, 'build-failed', result.message);
        const words = `${lab.builders[healthy].uri} cannot build this derivation: ${WORDS[version].otherSystem(drv, lab.system)}`;
        assert.ok(result.message.startsWith(words), result.message);
      });

      test(`offload: cancelling mid-build on ${healthy} leaves no nix-store or builder process there, nothing registered`, async (t) => {
        const nonceTag = nonce();
        const drv = await instantiate(`derivation {
        name = "sleeper${tag}-${nonceTag}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
        args = [ "-c" "echo sleeping now; sleep 60; echo done > $out" ];
      }`);
        const hostMounts = `hosts/${healthy}/nix`;
        const leftovers = () =>
          processesOf(lab.dir).filter((pid) => {
            try {
              if (!fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(hostMounts)) return false;
              const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
              const program = path.basename(argv[0] ?? '');
              return (
                program === 'nix-store' ||
                program === 'sleep' ||
                (argv.join(' ').includes(`sleeper${tag}-${nonceTag}`) && !argv.join(' ').includes('lab-host'))
              );
            } catch {
              return false;
            }
          });
        let during: number[] | undefined;
        const controller = new AbortController();
        const log: string[] = [];
        const result = await offload({
          machine: machineOf(healthy),
          drvPath: drv,
          pool,
          sshConfigFile: lab.sshConfig,
          env: lab.env(),
          signal: controller.signal,
          onLog: (line) => {
            log.push(line);
            if (line === 'sleeping now' && during === undefined) {
              during = leftovers();
              setTimeout(() => controller.abort(), 200);
            }
          },
        });
        assert.ok(!result.ok, JSON.stringify({ result, log }));
        assert.equal(result.cause, 'cancelled');
        assert.ok((during ?? []).length > 0, "the finder sees the build's processes while it runs");
        const started = Date.now();
        while (leftovers().length > 0 && Date.now() - started < 10_000)
          await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(leftovers(), [], 'nothing of the build is left on the builder');
        const out = outputOf(drv);
        assert.equal(await builderValid(healthy, out), false);
        assert.equal(
          fs.existsSync(path.join(lab.builders[healthy].storeDir, path.basename(out))),
          false,
          'no partial output there',
        );
        assert.equal(await localValid(out), false);
        t.diagnostic(`the build's processes were gone ${Date.now() - started} ms after offload returned`);
      });

      test(`distributed through real Nix 2.8: two independent derivations go to both ${version} builders (ssh:// and ssh-ng://)`, async (t) => {
        const drv = await instantiate(spreadExpression({ prefix: `spread${tag}`, tag: nonce(), system: lab.system }));
        const progress: DistributedProgress[] = [];
        const log: string[] = [];
        const result = await buildDistributed({
          drvPath: drv,
          builders: lab.machines(healthy, healthyNg),
          sshConfigFile: lab.sshConfig,
          env: { ...lab.env(), NIX_SSHOPTS: '' },
          onLog: (line) => log.push(line),
          onProgress: (p) => progress.push(p),
        });
        assert.ok(result.ok, JSON.stringify({ result, log: log.slice(-20) }, null, 1));
        const out = outputOf(drv);
        assert.ok(await localValid(out));
        const content = fs.readFileSync(out, 'utf8');
        assert.ok(
          content.includes(lab.builders[healthy].marker) && content.includes(lab.builders[healthyNg].marker),
          content,
        );
        assert.deepEqual(
          new Set(Object.values(result.builtOn)),
          new Set([lab.builders[healthy].uri, lab.builders[healthyNg].uri]),
          JSON.stringify(result.builtOn),
        );
        const last = progress[progress.length - 1]!;
        assert.equal(last.done, 3);
        assert.equal(last.running, 0);
        t.diagnostic(
          `distributed: ${result.ms} ms; ${Object.entries(result.builtOn)
            .map(([d, uri]) => `${d.slice(44)} → ${uri}`)
            .join(', ')}`,
        );
      });

      test(`offload with builders-use-substitutes on ${healthyNg}: asked to fetch first, then the inputs go over`, async () => {
        const nonceTag = nonce();
        const drv = await instantiate(
          sourceFileExpression({ dir: lab.dir, prefix: `with-src${tag}`, tag: nonceTag, system: lab.system }),
        );
        const log: string[] = [];
        const result = await offload({
          machine: machineOf(healthyNg),
          drvPath: drv,
          pool,
          sshConfigFile: lab.sshConfig,
          env: lab.env(),
          useSubstitutes: true,
          onLog: (line) => log.push(line),
        });
        assert.ok(result.ok, JSON.stringify({ result, log }));
        assert.equal(result.copiedToBuilder, 2, 'the .drv and its source: the builder has no substituter here');
        assert.equal(fs.readFileSync(outputOf(drv), 'utf8'), `source ${nonceTag}\n`);
      });

      test('remote-program given as a path (/usr/bin/nix-store, /usr/bin/nix-daemon): probe and offload use the programs there', async () => {
        for (const [name, program] of [
          [healthy, '/usr/bin/nix-store'],
          [healthyNg, '/usr/bin/nix-daemon'],
        ] as const) {
          const builder = lab.builders[name];
          const line = builder.machinesLine.replace(builder.uri, `${builder.uri}?remote-program=${program}`);
          const machine = parseBuilders(line, nix2_8Rules, { localSystem: lab.system }).machines[0]!;
          const probed = await runProbe(machine, { env: lab.env(), timeoutMs: 8000 });
          assert.equal(probed.status, 'up', describeProbe(probed));
          assert.match(probed.facts.daemonNixVersion ?? '', NIX_VERSION);
          const drv = await instantiate(whereBuiltExpression({ nonce: nonce(), system: lab.system }));
          const result = await offload({ machine, drvPath: drv, pool, sshConfigFile: lab.sshConfig, env: lab.env() });
          assert.ok(result.ok, JSON.stringify(result));
          assert.equal(readWhereBuilt(outputOf(drv)).hostname, builder.hostname);
        }
      });

      test(`CLI ping: the ${version} builders up with their Nix version, the stopped daemon named; exit 1`, async () => {
        const builders = [healthy, healthyNg, daemonDown].map((name) => lab.builders[name].machinesLine).join(' ; ');
        const result = await runCli(
          ['ping', '--builders', builders, '--ssh-config', lab.sshConfig, '--format', 'json'],
          lab.env(),
        );
        assert.equal(result.code, 1, result.stderr);
        const json = JSON.parse(result.stdout) as Array<{
          uri: string;
          status: string;
          findings: Array<{ code: string }>;
          facts: Record<string, unknown>;
        }>;
        assert.deepEqual(
          json.map((machine) => [machine.uri, machine.status]),
          [
            [lab.builders[healthy].uri, 'up'],
            [lab.builders[healthyNg].uri, 'up'],
            [lab.builders[daemonDown].uri, 'down'],
          ],
        );
        for (const machine of json.slice(0, 2)) assert.match(String(machine.facts.daemonNixVersion), NIX_VERSION);
        assert.deepEqual(
          json[2]!.findings.map((finding) => finding.code),
          ['remote-daemon-down'],
        );
      });

      test(`CLI build --on the ${version} builders: built there, the output here`, async () => {
        const dir = fs.mkdtempSync(path.join(lab.dir, 'cli-build-'));
        const file = path.join(dir, 'where.nix');
        fs.writeFileSync(file, `${whereBuiltExpression({ nonce: nonce(), system: lab.system })}\n`);
        const machines = path.join(dir, 'machines');
        fs.writeFileSync(machines, `${lab.builders[healthy].machinesLine}\n${lab.builders[healthyNg].machinesLine}\n`);
        for (const name of [healthy, healthyNg]) {
          const result = await runCli(
            [
              'build',
              file,
              '--on',
              lab.builders[name].alias,
              '--machines',
              machines,
              '--ssh-config',
              lab.sshConfig,
              '--format',
              'json',
            ],
            lab.env(),
          );
          assert.equal(result.code, 0, result.stderr);
          const json = JSON.parse(result.stdout) as { ok: boolean; builtOn: string; outputs: Array<{ path: string }> };
          assert.equal(json.builtOn, lab.builders[name].uri);
          assert.equal(readWhereBuilt(json.outputs[0]!.path).hostname, lab.builders[name].hostname);
          // The same derivation: the second builder gets it anew (the output is not in its store).
          await run('nix-store', ['--delete', json.outputs[0]!.path], { env: lab.env() });
        }
      });
    });
});
