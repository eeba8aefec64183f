// One build, one evaluation: the client carries the plan's drvPath to startBuild, and the
// server builds that derivation without running nix-instantiate on the file again. The real
// nix-instantiate runs behind a wrapper on the server's PATH that marks each call. No builder
// is configured, so the build stops at "no machine fits" after the derivation is read. A file
// that is one derivation is evaluated once, not once to list its attributes and again.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { planBuildRequest, startBuildRequest } from '../../server/src/protocol';
import { LspClient } from './helpers/lspClient';
import { marked, markingWrapper } from './helpers/markingWrapper';

let work: string;
let client: LspClient;
let marks: string;
let file: string;
const evaluations = () =>
  marked(marks)
    .split('\n')
    .filter((line) => line.startsWith('nix-instantiate ')).length;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'nix-builders-once-'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  marks = join(work, 'marks');
  markingWrapper(bin, 'nix-instantiate', marks);
  file = join(work, 'default.nix');
  writeFileSync(
    file,
    'derivation { name = "evaluated-once"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }\n',
  );
  writeFileSync(join(work, 'nix.conf'), 'builders =\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    NIX_CONF_DIR: work,
    NIX_USER_CONF_FILES: join(work, 'none'),
  };
  delete env.NIX_CONFIG;
  client = await LspClient.start({ env, initializationOptions: { trusted: true } });
  client.settings = { nixVersion: '2.8' };
});
after(async () => {
  await client.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the plan of a file that is one derivation runs nix-instantiate once, as nix-build evaluates once', async () => {
  const before = evaluations();
  const plan = await client.connection.sendRequest(planBuildRequest, { file });
  assert.equal(plan.ok, true, JSON.stringify(plan));
  assert.equal(evaluations() - before, 1, marked(marks));
});

test('a file holding several derivations still names them (the second evaluation is only for that case)', async () => {
  const several = join(work, 'several.nix');
  writeFileSync(
    several,
    '{ a = derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; }; b = derivation { name = "b"; system = "x86_64-linux"; builder = "/bin/sh"; }; c = 1; }\n',
  );
  const plan = await client.connection.sendRequest(planBuildRequest, { file: several });
  assert.deepEqual(plan, { ok: false, needsAttribute: ['a', 'b'] });
});

test("startBuild with the plan's drvPath evaluates nothing more", async () => {
  const plan = await client.connection.sendRequest(planBuildRequest, { file });
  assert.equal(plan.ok, true, JSON.stringify(plan));
  if (!plan.ok) return;
  const planned = evaluations();
  assert.ok(planned > 0, 'the plan evaluated the file through the wrapper');
  const outcome = await client.connection.sendRequest(startBuildRequest, {
    file,
    buildId: 'once',
    on: 'best',
    drvPath: plan.drvPath,
  });
  assert.equal(outcome.cause, 'no-machine', JSON.stringify(outcome));
  assert.match(outcome.message ?? '', /^no machine fits x86_64-linux/);
  assert.equal(evaluations(), planned, 'the build ran nix-instantiate again');
});

test('without a drvPath (an older client) the build evaluates the file itself', async () => {
  const before = evaluations();
  const outcome = await client.connection.sendRequest(startBuildRequest, { file, buildId: 'again', on: 'best' });
  assert.equal(outcome.cause, 'no-machine', JSON.stringify(outcome));
  assert.ok(evaluations() > before, 'the wrapper counts the evaluations a build runs');
});

test('a drvPath outside /nix/store is refused, not read', async () => {
  const fake = join(work, 'fake.drv');
  writeFileSync(fake, 'Derive(');
  const outcome = await client.connection.sendRequest(startBuildRequest, {
    file,
    buildId: 'fake',
    on: 'best',
    drvPath: fake,
  });
  assert.equal(outcome.cause, 'evaluation');
  assert.match(outcome.message ?? '', /is not a derivation in \/nix\/store/);
});
