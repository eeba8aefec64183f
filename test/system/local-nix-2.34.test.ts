// The product with Nix 2.34 as this machine's Nix: the version lab's sid chroot's nix, nix-build,
// nix-store, … first on PATH (fixture/labClient.ts: how a user has a Nix, and how the product
// finds it: builders/localNix.ts asks `nix --version` on PATH, the offload and distributed mode
// run `nix-store` and `nix-build` from PATH). Its store is its own, not the machine's. Against
// builders running the machine's Nix 2.8 and Nix 2.34, over ssh:// and ssh-ng://:
//   - `nix-builders check` reads a machines file as 2.34 does (speedFactor 1.5 is fine there,
//     an error on the machine's 2.8);
//   - `nix-builders build --on` each builder, which is our offload with the 2.34 client (inputs
//     exported by its nix-store, outputs imported by it): built there, the output in its store;
//   - `nix-builders build --distributed`: Nix 2.34's own remote builds spread over a 2.8 and a
//     2.34 builder.
// The CLI runs as on a machine whose /nix is the 2.34 client's (LabClient.asUser).
//   node --import tsx --test test/system/local-nix-2.34.test.ts
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  provisionBuilders,
  readWhereBuilt,
  run,
  spreadExpression,
  whereBuiltExpression,
  type BuilderLab,
} from './fixture';
import { runCli } from './fixture/cli';
import { labNixCanRun } from './fixture/gate';
import { makeLabClient, type LabClient } from './fixture/labClient';
import * as localStore from './fixture/localStore';

const BUILDERS = ['healthy', 'healthyNg', 'healthy234', 'healthy234Ng'] as const;
type Name = (typeof BUILDERS)[number];

const labRuns = labNixCanRun('2.34');

let lab: BuilderLab<Name>;
let client: LabClient;
let dir: string;
/** The environment of a user whose Nix is 2.34: the lab's, with the client's programs first on PATH. */
const env = () => client.env(lab.env());
/** `nix-builders …` on that machine. */
const cliAs234 = (args: string[]) => runCli(args, env(), undefined, client.asUser);
const nonce = localStore.uniqueNonce;

/** A .nix file (in the lab's directory, which the chroot sees at the same path). */
function nixFile(name: string, expression: string): string {
  const file = path.join(dir, `${name}-${nonce()}.nix`);
  fs.writeFileSync(file, `${expression}\n`);
  return file;
}

/** Whether a store path is valid in the 2.34 client's store, and in the machine's own. */
const validInClient = async (storePath: string) =>
  (await run('nix-store', ['--check-validity', storePath], { env: env(), cwd: '/' })).code === 0;
const validOnMachine = async (storePath: string) =>
  (await run('nix-store', ['--check-validity', storePath], { env: lab.env(), cwd: '/' })).code === 0;

describe('Nix 2.34 as the local Nix', { skip: !labRuns }, () => {
  before(async () => {
    lab = await provisionBuilders({ builders: BUILDERS });
    client = makeLabClient(lab.dir, '2.34');
    dir = fs.mkdtempSync(path.join(lab.dir, 'local-234-'));
  });
  after(async () => {
    await lab?.stop();
  });

  test("nix on PATH is the chroot's 2.34, with a store of its own", async () => {
    const version = await run('nix', ['--version'], { env: env() });
    assert.match(version.stdout.trim(), /^nix \(Nix\) 2\.34\.\d+$/, version.output);
    const drv = await localStore.instantiate(env(), whereBuiltExpression({ nonce: nonce(), system: lab.system }));
    assert.ok(fs.existsSync(client.outside(drv)), "the .drv is in the client's store");
    assert.equal(fs.existsSync(drv), false, "and not in the machine's");
  });

  test("check: a machines file as Nix 2.34 reads it (speedFactor 1.5 needs 2.20); the machine's 2.8 calls it an error", async () => {
    const machines = path.join(dir, 'fractional.machines');
    fs.writeFileSync(machines, `${lab.builders.healthy234.uri} ${lab.system} ${lab.clientKey} 1 1.5\n`);
    const as234 = await cliAs234(['check', machines, '--format', 'json']);
    assert.equal(as234.code, 0, as234.stdout + as234.stderr);
    const json = JSON.parse(as234.stdout) as { nix: string; findings: Array<{ code: string; severity: string }> };
    assert.match(json.nix, /^Nix 2\.34\.\d+ \(installed\)$/);
    assert.deepEqual(
      json.findings.filter((finding) => finding.severity === 'error'),
      [],
    );
    const as28 = await runCli(['check', machines, '--format', 'json'], lab.env());
    assert.equal(as28.code, 1, as28.stdout);
    const json28 = JSON.parse(as28.stdout) as { nix: string; findings: Array<{ code: string }> };
    assert.match(json28.nix, /^Nix 2\.8\.\d+ \(installed\)$/);
    assert.deepEqual(
      json28.findings.map((finding) => finding.code),
      ['speed-factor-invalid'],
    );
  });

  for (const name of BUILDERS) {
    test(`build --on ${name}: built there, the output in the 2.34 client's store`, async () => {
      const file = nixFile('where', whereBuiltExpression({ nonce: nonce(), system: lab.system }));
      const machines = path.join(dir, `${name}.machines`);
      fs.writeFileSync(machines, `${lab.machines(...BUILDERS)}\n`);
      const builder = lab.builders[name];
      const result = await cliAs234([
        'build',
        file,
        '--on',
        builder.alias,
        '--machines',
        machines,
        '--ssh-config',
        lab.sshConfig,
        '--format',
        'json',
      ]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const json = JSON.parse(result.stdout) as { ok: boolean; builtOn: string; outputs: Array<{ path: string }> };
      assert.equal(json.builtOn, builder.uri);
      const out = json.outputs[0]!.path;
      assert.ok(await validInClient(out), "valid in the 2.34 client's store");
      assert.equal(await validOnMachine(out), false, "not in the machine's store");
      const where = readWhereBuilt(client.outside(out));
      assert.equal(where.hostname, builder.hostname);
      assert.equal(where.marker, builder.marker);
    });
  }

  test('build --distributed: Nix 2.34 spreads two independent derivations over a 2.8 and a 2.34 builder', async (t) => {
    const file = nixFile('spread', spreadExpression({ prefix: 'local234', tag: nonce(), system: lab.system }));
    const machines = path.join(dir, 'spread.machines');
    fs.writeFileSync(machines, `${lab.machines('healthyNg', 'healthy234')}\n`);
    const result = await cliAs234([
      'build',
      file,
      '--distributed',
      '--machines',
      machines,
      '--ssh-config',
      lab.sshConfig,
      '--format',
      'json',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const json = JSON.parse(result.stdout) as {
      ok: boolean;
      builtBy: { uri: string }[];
      summary: string;
      outputs: Array<{ path: string }>;
    };
    assert.deepEqual(
      new Set(json.builtBy.map((b) => b.uri)),
      new Set([lab.builders.healthyNg.uri, lab.builders.healthy234.uri]),
      result.stdout,
    );
    assert.match(json.summary, /^Built by Nix over 2 builders/);
    const out = json.outputs[0]!.path;
    assert.ok(await validInClient(out));
    const content = fs.readFileSync(client.outside(out), 'utf8');
    assert.ok(
      content.includes(lab.builders.healthyNg.marker) && content.includes(lab.builders.healthy234.marker),
      content,
    );
    for (const line of result.stderr.split('\n').filter((text) => / on '/.test(text))) t.diagnostic(line);
  });
});
