// The Nix words a finding quotes are the words that builder's Nix really prints, per version:
// the probe learns the builder's version, the finding quotes that version (health/nixWords.ts),
// and the same builder, made to fail that way for real, prints those words. On the lab's Nix
// 2.8 builders and, where the sid chroot is here, its Nix 2.34 ones. And the words of the client
// (this machine's Nix) for a builder whose shell prints: the same in every Nix of the lab (2.8
// here, 2.26.3 and 2.34.8 in the version lab's chroots), each run as the client.
//   node --import tsx --test test/system/finding-words.test.ts
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { offload } from '../../server/src/dispatch/offload';
import { runProbe } from '../../server/src/health/probe';
import { cannotBuildWords, unsignedPathWords } from '../../server/src/health/nixWords';
import { nixPrinted } from '../helpers/nixOutput';
import { ConnectionPool } from '../../server/src/ssh/pool';
import {
  nixBuildRemote,
  provisionBuilders,
  run,
  skipUnlessLabNix,
  type BuilderLab,
  type LabBuilderName,
} from './fixture';
import { labCanRun } from './fixture/gate';
import * as localStore from './fixture/localStore';

/** The repository's version lab (scripts/nix-versions.sh): chroots with another Nix. */
const versionLab = path.join(__dirname, '../../.nix-versions');

type Name = 'healthy' | 'untrusted' | 'noisy' | 'healthy234' | 'untrusted234';
const with234 = labCanRun() && skipUnlessLabNix('2.34') === undefined;
/** The builders by Nix version: 2.8 always, 2.34 where the version lab is. */
const versions: Array<{ nix: string; healthy: Name; untrusted: Name }> = [
  { nix: '2.8', healthy: 'healthy', untrusted: 'untrusted' },
  ...(with234 ? [{ nix: '2.34', healthy: 'healthy234', untrusted: 'untrusted234' } as const] : []),
];
if (labCanRun() && !with234)
  test(
    'the Nix 2.34 builders say it in their words too',
    { skip: 'no version lab here (.nix-versions/sid: scripts/nix-versions.sh)' },
    () => {},
  );

describe("findings quote the builder's Nix in its own version's words", { skip: !labCanRun() }, () => {
  let lab: BuilderLab<Name>;
  let pool: ConnectionPool;
  const { instantiate, machineOf } = localStore.labStore<Name>(() => lab);

  before(async () => {
    lab = await provisionBuilders<Name>({
      builders: ['noisy', ...versions.flatMap((v) => [v.healthy, v.untrusted])] as LabBuilderName[] as Name[],
    });
    pool = new ConnectionPool({ idleMs: 1000 });
  });
  after(async () => {
    await pool?.close();
    await lab?.stop();
  });

  for (const { nix, healthy, untrusted } of versions) {
    test(`Nix ${nix}: a line claiming a system the builder lacks: system-mismatch quotes what that builder prints when sent such a build`, async () => {
      const line = lab.builders[healthy].machinesLine.replace(` ${lab.system} `, ` ${lab.system},aarch64-linux `);
      const machine = localStore.machineOfLine(line, lab.system);
      const probed = await runProbe(machine, { env: lab.env(), timeoutMs: 8000 });
      const finding = probed.findings.find((f) => f.code === 'system-mismatch');
      assert.ok(finding, probed.findings.map((f) => `${f.code}: ${f.message}`).join('\n'));
      const words = cannotBuildWords(probed.facts.nixVersion, 'system');
      assert.ok(finding.message.includes(`("${words}")`), finding.message);
      // Real Nix (the machine's 2.8 client) sends such a build there: the builder says why not.
      const built = await nixBuildRemote(
        lab.nixSshOpts,
        line,
        `derivation { name = "words-${localStore.uniqueNonce()}"; system = "aarch64-linux"; builder = "/bin/sh"; args = [ "-c" "exit 0" ]; }`,
      );
      assert.notEqual(built.code, 0, built.output);
      assert.ok(nixPrinted(words, built.output), `Nix ${nix} did not print ${JSON.stringify(words)}:\n${built.output}`);
    });

    test(`Nix ${nix}: an untrusted SSH user: untrusted-user quotes how that builder refuses an unsigned path`, async () => {
      const probed = await runProbe(machineOf(untrusted), { env: lab.env(), timeoutMs: 8000 });
      const finding = probed.findings.find((f) => f.code === 'untrusted-user');
      assert.ok(finding, probed.findings.map((f) => `${f.code}: ${f.message}`).join('\n'));
      const words = unsignedPathWords(probed.facts.nixVersion);
      assert.ok(finding.message.includes(`("${words}")`), finding.message);
      // Our offload sends it unsigned inputs: the builder's own refusal, quoted in the result.
      const drv = await instantiate(
        `derivation { name = "unsigned-${localStore.uniqueNonce()}"; system = ${JSON.stringify(lab.system)}; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }`,
      );
      const result = await offload({
        machine: machineOf(untrusted),
        drvPath: drv,
        pool,
        sshConfigFile: lab.sshConfig,
        env: lab.env(),
      });
      assert.ok(!result.ok && result.cause === 'untrusted-user', JSON.stringify(result));
      assert.ok(
        nixPrinted(words, result.message),
        `Nix ${nix} did not say ${JSON.stringify(words)}: ${result.message}`,
      );
    });
  }

  for (const client of clients()) {
    for (const scheme of ['ssh', 'ssh-ng'] as const) {
      test(`a shell that prints: shell-noise quotes what ${client.name} says as the client over ${scheme}://`, async () => {
        const line = lab.builders.noisy.machinesLine.replace('ssh://', `${scheme}://`);
        const probed = await runProbe(localStore.machineOfLine(line, lab.system), { env: lab.env(), timeoutMs: 8000 });
        const finding = probed.findings.find((f) => f.code === 'shell-noise');
        assert.ok(finding, probed.findings.map((f) => `${f.code}: ${f.message}`).join('\n'));
        const words = /Nix speaks its protocol over that output and fails: "([^"]+)"/.exec(finding.message)?.[1];
        assert.ok(words, finding.message);
        const said = await client.storeInfo(`${scheme}://${lab.builders.noisy.alias}`, lab.env());
        assert.notEqual(said.code, 0, said.output);
        assert.ok(
          nixPrinted(words, said.output),
          `${client.name} did not print ${JSON.stringify(words)}:\n${said.output}`,
        );
      });
    }
  }
});

interface Client {
  name: string;
  /** `nix store ping` of a store URI as this Nix, in the lab's environment (its NIX_SSHOPTS). */
  storeInfo(store: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }>;
}

/** This machine's Nix, and the Nix of each chroot of the version lab that is here. */
function clients(): Client[] {
  const args = (store: string) => ['--extra-experimental-features', 'nix-command', 'store', 'ping', '--store', store];
  const own: Client = {
    name: 'Nix 2.8 (this machine)',
    storeInfo: async (store, env) => {
      const result = await run('nix', args(store), { env });
      return { code: result.code, output: result.stdout + result.stderr };
    },
  };
  const chroots = ['trixie', 'sid']
    .map((name) => path.join(versionLab, name))
    .filter((root) => fs.existsSync(path.join(root, 'usr/bin/nix')));
  return [
    own,
    ...chroots.map((root): Client => ({
      name: `the Nix of ${path.basename(root)}`,
      // In a mount namespace of its own: the chroot sees this /tmp (the lab), /proc and /dev.
      storeInfo: async (store, env) => {
        const script =
          'for d in tmp proc dev; do mount --bind "/$d" "$1/$d" || exit 1; done; root="$1"; shift; exec chroot "$root" "$@"';
        const result = await run(
          'unshare',
          ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root, 'nix', ...args(store)],
          { env },
        );
        return { code: result.code, output: result.stdout + result.stderr };
      },
    })),
  ];
}
