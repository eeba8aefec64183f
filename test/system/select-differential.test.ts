// Differential: our selectMachine against the machine real Nix's build hook picks, for each
// local Nix of the lab (the machine's 2.8, and 2.26 and 2.34 from the version lab's chroots as
// the client: fixture/labClient.ts), with that release's builder behind every machines line,
// at load 0 and under load: a machine's load is the builds running on it, which Nix counts
// from the slot locks it holds on the client (`current-load/`); the test holds those locks as
// running builds would (fixture/slotLocks.ts) and gives our selector the same loads.
//   node --import tsx --test test/system/select-differential.test.ts
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseDerivation } from '../../server/src/dispatch/derivation';
import { candidateOf, selectMachine } from '../../server/src/dispatch/select';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixVersion, rulesFor, type VersionRules } from '../../server/src/model/nixVersion';
import {
  LAB_NIX_VERSIONS,
  machinesLine,
  provisionBuilders,
  run,
  type BuilderLab,
  type LabBuilderName,
  type LabNixVersion,
} from './fixture';
import { aliasConfig } from './fixture/aliasConfig';
import { labCanRun, labReleasesThatRun } from './fixture/gate';
import { makeLabClient } from './fixture/labClient';
import * as localStore from './fixture/localStore';
import { holdSlots, type HeldSlots } from './fixture/slotLocks';

interface Case {
  title: string;
  /** The derivation's system: lab.system, or one the builders list but cannot build (Nix still
   * picks the machine first, prints "building … on …", and the build then fails there). */
  system: 'lab' | 'aarch64-linux';
  features: string[];
  machines: Array<{
    alias: string;
    systems: Array<'lab' | 'aarch64-linux' | 'riscv64-linux'>;
    speedFactor?: number;
    /** Column 4 (default 1). */
    maxJobs?: number;
    /** Builds running there now: slot locks held on the client (default 0). */
    load?: number;
    supported?: string[];
    mandatory?: string[];
  }>;
  /** The alias both must pick (undefined: no machine), to keep each case meaningful. */
  expect: string | undefined;
  /** Where Nix 2.8 differs: its load / speedFactor is an integer division (speedFactor was unsigned until 2.20). */
  expectOn2_8?: string;
}

const CASES: Case[] = [
  {
    title: 'a tie on load broken by the higher speedFactor',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 1 },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 4 },
      { alias: 'dx-3', systems: ['lab'], speedFactor: 2 },
    ],
    expect: 'dx-2',
  },
  {
    title: 'a full tie broken by file order (and the wrong system skipped despite its speed)',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['riscv64-linux'], speedFactor: 9 },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 3 },
      { alias: 'dx-3', systems: ['lab'], speedFactor: 3 },
    ],
    expect: 'dx-2',
  },
  {
    title: 'a system listed in column 2 among others (aarch64-linux): Nix matches it',
    system: 'aarch64-linux',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 5 },
      { alias: 'dx-2', systems: ['lab', 'aarch64-linux'], speedFactor: 1 },
      { alias: 'dx-3', systems: ['aarch64-linux'], speedFactor: 2 },
    ],
    expect: 'dx-3',
  },
  {
    title: 'a machine with a mandatory feature only takes derivations that require it',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 8, mandatory: ['big-parallel'] },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 1 },
    ],
    expect: 'dx-2',
  },
  {
    title: 'a derivation requiring the mandatory feature goes there (mandatory counts as supported)',
    system: 'lab',
    features: ['big-parallel'],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 8, mandatory: ['big-parallel'] },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 1 },
    ],
    expect: 'dx-1',
  },
  {
    title: 'all mandatory features must be required; a required feature must be supported',
    system: 'lab',
    features: ['big-parallel'],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 9, mandatory: ['big-parallel', 'benchmark'] },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 9 },
      { alias: 'dx-3', systems: ['lab'], speedFactor: 1, supported: ['big-parallel'] },
      { alias: 'dx-4', systems: ['lab'], speedFactor: 2, supported: ['benchmark', 'big-parallel'] },
    ],
    expect: 'dx-4',
  },
  {
    title: 'no machine has the feature: neither picks one',
    system: 'lab',
    features: ['gpu'],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 1, supported: ['big-parallel'] },
      { alias: 'dx-2', systems: ['lab', 'aarch64-linux'], speedFactor: 2 },
    ],
    expect: undefined,
  },
  {
    title: 'under load: a machine with every slot busy is passed over for a slower one',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 4, maxJobs: 2, load: 2 },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 1, maxJobs: 2 },
    ],
    expect: 'dx-2',
  },
  {
    title: 'under load: at equal speed the machine running fewer builds',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], maxJobs: 3, load: 2 },
      { alias: 'dx-2', systems: ['lab'], maxJobs: 3, load: 1 },
      { alias: 'dx-3', systems: ['lab'], maxJobs: 3, load: 2 },
    ],
    expect: 'dx-2',
  },
  {
    title: 'under load: load over speed, so a faster machine running more builds still wins',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 1, maxJobs: 4, load: 1 },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 4, maxJobs: 4, load: 3 },
    ],
    expect: 'dx-2',
  },
  {
    title: 'under load: 1 build at speed 2 against an idle machine at speed 1 (0.5 > 0, but 1 / 2 = 0 in integers)',
    system: 'lab',
    features: [],
    machines: [
      { alias: 'dx-1', systems: ['lab'], speedFactor: 1, maxJobs: 2 },
      { alias: 'dx-2', systems: ['lab'], speedFactor: 2, maxJobs: 4, load: 1 },
    ],
    expect: 'dx-1',
    expectOn2_8: 'dx-2',
  },
];

/** The local Nix under test and the builder of the same release behind every machines line. */
interface Client {
  version: '2.8' | LabNixVersion;
  builder: LabBuilderName;
  /** The environment whose PATH has that Nix. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Its /nix/var/nix, and a /nix path of its, as seen from here. */
  stateDir: string;
  outside(nixPath: string): string;
}

/** What real Nix does with `-j0 --builders <text>`: the URI of "building '<drv>' on '<uri>'". */
function nixPicks(
  builders: string,
  drv: string,
  env: NodeJS.ProcessEnv,
): Promise<{ uri: string | undefined; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'nix-build',
      [drv, '--no-out-link', '-j0', '--option', 'substituters', '', '--builders', builders],
      { env, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    let uri: string | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /building '[^']+' on '([^']+)'/.exec(output);
      // The choice is made: stop here (Nix's hook stops the remote side with it).
      if (match && uri === undefined) {
        uri = match[1];
        child.kill('SIGTERM');
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ uri, output });
    });
  });
}

const HOST_RUNS = labCanRun();
/** The local Nix releases that can run here: the machine's, then each version lab chroot that is ready. */
const RELEASES: Array<'2.8' | LabNixVersion> = [
  ...(HOST_RUNS ? ['2.8' as const] : []),
  ...(HOST_RUNS ? labReleasesThatRun() : []),
];
const builderOf = (version: '2.8' | LabNixVersion): LabBuilderName =>
  version === '2.8' ? 'healthy' : `healthy${LAB_NIX_VERSIONS[version].tag}`;

let lab: BuilderLab<LabBuilderName>;
if (RELEASES.length > 0) {
  // One lab for every release: their healthy builders start in parallel.
  before(async () => {
    lab = await provisionBuilders({ builders: RELEASES.map(builderOf) });
  });
  after(async () => {
    await lab?.stop();
  });
}

// The local Nix releases side by side: each has its own URIs and state dir, so no lock is shared.
describe('differential on each local Nix', { concurrency: true }, () => {
  for (const version of RELEASES) {
    describe(
      `differential with Nix ${version} as the local Nix: selectMachine picks the machine real Nix builds on`,
      { concurrency: 1 },
      () => {
        let client: Client;
        let config: string;
        let rules: VersionRules;
        const tag = version.replace('.', '');
        /** Distinct URIs per release and case: Nix's "on '<uri>'" says which line it chose, and no two cases share slot locks. */
        const uriOf = (index: number, alias: string) => `ssh://dx${tag}-${index + 1}-${alias.slice(3)}-${lab.slot}`;

        before(async () => {
          const builder = builderOf(version);
          if (version === '2.8') {
            client = {
              version,
              builder,
              env: (extra) => lab.env(extra),
              stateDir: '/nix/var/nix',
              outside: (nixPath) => nixPath,
            };
          } else {
            const made = makeLabClient(lab.dir, version);
            client = {
              version,
              builder,
              env: (extra) => made.env(lab.env(extra)),
              stateDir: made.stateDir,
              outside: made.outside,
            };
          }
          const aliases: Record<string, string> = {};
          CASES.forEach((c, index) => {
            for (const m of c.machines)
              aliases[uriOf(index, m.alias).slice('ssh://'.length)] = lab.builders[builder].alias;
          });
          config = aliasConfig(lab, `dx${tag}_ssh_config`, aliases);
          const printed = await run('nix', ['--version'], { env: client.env() });
          const parsed = parseNixVersion(printed.stdout);
          assert.ok(
            parsed !== undefined && printed.stdout.includes(`${version}.`),
            `the local Nix is ${version}: ${printed.output}`,
          );
          rules = rulesFor(parsed);
        });

        for (const [index, c] of CASES.entries()) {
          test(`${index + 1}. ${c.title}`, async (t) => {
            const system = c.system === 'lab' ? lab.system : c.system;
            const text = c.machines
              .map((m) =>
                machinesLine({
                  uri: uriOf(index, m.alias),
                  systems: m.systems.map((s) => (s === 'lab' ? lab.system : s)).join(','),
                  identityFile: lab.clientKey,
                  maxJobs: m.maxJobs ?? 1,
                  ...(m.speedFactor === undefined ? {} : { speedFactor: m.speedFactor }),
                  ...(m.supported === undefined ? {} : { supportedFeatures: m.supported }),
                  ...(m.mandatory === undefined ? {} : { mandatoryFeatures: m.mandatory }),
                }),
              )
              .join('\n');
            const featuresAttr =
              c.features.length > 0
                ? `requiredSystemFeatures = [ ${c.features.map((f) => JSON.stringify(f)).join(' ')} ];`
                : '';
            const drv = await localStore.instantiate(
              client.env(),
              `derivation { name = "dx-${localStore.uniqueNonce()}"; system = ${JSON.stringify(system)}; builder = "/bin/sh"; ${featuresAttr} args = [ "-c" "echo > $out" ]; }`,
            );

            // Ours: the derivation's needs read from the .drv, the machines as this Nix parses them,
            // each with the builds running there.
            const derivation = parseDerivation(fs.readFileSync(client.outside(drv), 'utf8'));
            const parsed = parseBuilders(text, rules, { localSystem: lab.system });
            assert.deepEqual(parsed.problems, []);
            // The same conversion the build command and the CLI use.
            const candidates = parsed.machines.map((machine, i) =>
              candidateOf(String(i), machine, c.machines[i]!.load ?? 0),
            );
            const ours = selectMachine(
              candidates,
              { system: derivation.system, requiredFeatures: derivation.requiredSystemFeatures },
              rules,
            );

            // Nix's: the same builds running, as the slot locks its hook would hold for them.
            const held: HeldSlots[] = [];
            let nix: Awaited<ReturnType<typeof nixPicks>>;
            try {
              for (const m of c.machines)
                if ((m.load ?? 0) > 0) held.push(await holdSlots(client.stateDir, uriOf(index, m.alias), m.load!));
              nix = await nixPicks(text, drv, client.env({ NIX_SSHOPTS: `-F ${config}` }));
            } finally {
              await Promise.all(held.map((slots) => slots.release()));
            }
            if (nix.uri === undefined)
              assert.match(nix.output, /Failed to find a machine for remote build!/, nix.output);
            assert.equal(
              ours.chosen?.uri,
              nix.uri,
              `Nix built on ${nix.uri ?? 'no machine'}; we chose ${ours.chosen?.uri ?? 'none'}\n${ours.verdicts.map((v) => `  ${v.candidate.uri}: ${v.kind} (${v.reason})`).join('\n')}\n${nix.output.slice(-1500)}`,
            );
            const expected = version === '2.8' && c.expectOn2_8 !== undefined ? c.expectOn2_8 : c.expect;
            assert.equal(
              nix.uri,
              expected === undefined ? undefined : uriOf(index, expected),
              'the case still tests what its title says',
            );
            t.diagnostic(`Nix ${version} and we: ${nix.uri ?? 'no machine'}`);
          });
        }
      },
    );
  }
});
