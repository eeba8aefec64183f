// `nix-builders build` on real builders: a .nix file built on the machine Nix would pick (or the
// one named), output paths on the last lines of stdout, the output in the local store saying
// which builder built it; an evaluation error comes back as Nix prints it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runInTerminal } from '../helpers/inTerminal';
import { provisionBuilders, readWhereBuilt, spreadExpression, whereBuiltExpression, type BuilderLab } from './fixture';
import { CLI, runCli } from './fixture/cli';
import { labCanRun } from './fixture/gate';

const build = (args: string[], env: NodeJS.ProcessEnv) => runCli(['build', ...args], env);

let lab: BuilderLab<'healthy' | 'healthyNg' | 'passphraseKey' | 'closedPort'>;
let dir: string;
if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy', 'healthyNg', 'passphraseKey', 'closedPort'] });
    dir = mkdtempSync(join(lab.dir, 'cli-build-'));
  });
  after(async () => lab?.stop());

  const machinesFile = () => {
    const file = join(dir, 'machines');
    // healthyNg is faster: Nix (and we) pick it.
    writeFileSync(
      file,
      `${lab.builders.healthy.machinesLine}\n${lab.builders.healthyNg.machinesLine.replace(/^(\S+ \S+ \S+ \S+) \S+/, '$1 4')}\n`,
    );
    return file;
  };

  test('a .nix file with two derivations: -A picks one, the best machine builds it, the path is the last line', async () => {
    const nonce = randomBytes(6).toString('hex');
    const file = join(dir, `two-${nonce}.nix`);
    writeFileSync(
      file,
      `{ one = ${whereBuiltExpression({ nonce: `${nonce}-1`, system: lab.system })}; two = ${whereBuiltExpression({ nonce: `${nonce}-2`, system: lab.system })}; }\n`,
    );
    const env = lab.env();

    const ambiguous = await build([file, '--machines', machinesFile(), '--ssh-config', lab.sshConfig], env);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /holds several derivations: choose one with -A \(one, two\)/);

    const result = await build([file, '-A', 'two', '--machines', machinesFile(), '--ssh-config', lab.sshConfig], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`on ${lab.builders.healthyNg.uri.replace(/[/.]/g, '\\$&')}`));
    const out = result.stdout.trim().split('\n').pop()!;
    assert.match(out, /^\/nix\/store\/[a-z0-9]{32}-nixrb-where-/);
    assert.equal(readWhereBuilt(out).hostname, lab.builders.healthyNg.hostname);
  });

  test('--on names the machine; --format json', async () => {
    const nonce = randomBytes(6).toString('hex');
    const file = join(dir, `one-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const result = await build(
      [
        file,
        '--on',
        lab.builders.healthy.alias,
        '--machines',
        machinesFile(),
        '--ssh-config',
        lab.sshConfig,
        '--format',
        'json',
      ],
      lab.env(),
    );
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as {
      ok: boolean;
      builtOn: string;
      summary: string;
      outputs: { path: string }[];
    };
    assert.equal(json.builtOn, lab.builders.healthy.uri);
    assert.match(
      json.summary,
      new RegExp(`^Built on ${lab.builders.healthy.uri.replace(/[/.]/g, '\\$&')} in \\d+\\.\\d s\\.$`),
    );
    assert.equal(readWhereBuilt(json.outputs[0]!.path).hostname, lab.builders.healthy.hostname);
  });

  test('outputs already in the local store: "Already built: nothing to do", the builder named is down and not named', async () => {
    const nonce = randomBytes(6).toString('hex');
    const file = join(dir, `again-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const machines = join(dir, `again-${nonce}.machines`);
    writeFileSync(machines, `${lab.builders.healthy.machinesLine}\n${lab.builders.closedPort.machinesLine}\n`);
    const first = await build(
      [file, '--on', lab.builders.healthy.alias, '--machines', machines, '--ssh-config', lab.sshConfig],
      lab.env(),
    );
    assert.equal(first.code, 0, first.stderr);
    const again = await build(
      [file, '--on', lab.builders.closedPort.alias, '--machines', machines, '--ssh-config', lab.sshConfig],
      lab.env(),
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^Already built: nothing to do \(the outputs were in the local store\)\.$/m);
    assert.doesNotMatch(again.stderr, /^Built on/m, 'the dead builder built nothing');
    assert.equal(again.stdout.trim(), first.stdout.trim().split('\n').pop(), 'the output path is still printed');
    const json = JSON.parse(
      (
        await build(
          [
            file,
            '--on',
            lab.builders.closedPort.alias,
            '--machines',
            machines,
            '--ssh-config',
            lab.sshConfig,
            '--format',
            'json',
          ],
          lab.env(),
        )
      ).stdout,
    ) as Record<string, unknown>;
    assert.equal(json.builtOn, undefined);
    assert.deepEqual(json.builtBy, []);
  });

  test('--distributed: the words name the builders Nix used and how many derivations each built', async () => {
    const file = join(dir, `spread-${randomBytes(6).toString('hex')}.nix`);
    writeFileSync(
      file,
      `${spreadExpression({ prefix: 'cli-spread', tag: randomBytes(6).toString('hex'), system: lab.system })}\n`,
    );
    const machines = join(dir, 'spread.machines');
    writeFileSync(machines, `${lab.builders.healthy.machinesLine}\n${lab.builders.healthyNg.machinesLine}\n`);
    const result = await build(
      [file, '--distributed', '--machines', machines, '--ssh-config', lab.sshConfig, '--format', 'json'],
      lab.env(),
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const json = JSON.parse(result.stdout) as {
      builtOn?: string;
      builtBy: { uri: string; derivations: number }[];
      summary: string;
    };
    assert.equal(json.builtOn, undefined, 'not one machine, and never the word "distributed"');
    assert.deepEqual(
      new Set(json.builtBy.map((b) => b.uri)),
      new Set([lab.builders.healthy.uri, lab.builders.healthyNg.uri]),
      result.stdout,
    );
    assert.equal(
      json.builtBy.reduce((sum, b) => sum + b.derivations, 0),
      3,
      'two leaves and the top',
    );
    assert.match(json.summary, /^Built by Nix over 2 builders in \d+\.\d s \(/);
    assert.doesNotMatch(json.summary, /distributed/);
  });

  test('an evaluation error is reported as Nix prints it', async () => {
    const file = join(dir, 'broken.nix');
    writeFileSync(file, 'derivation { name = "broken"; }\n');
    const result = await build([file, '--machines', machinesFile()], lab.env());
    assert.equal(result.code, 1);
    assert.match(result.stderr, /evaluation: error: required attribute 'builder' missing/);
  });

  const passphraseFile = (nonce: string) => {
    const file = join(dir, `pass-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const machines = join(dir, `pass-${nonce}.machines`);
    writeFileSync(machines, `${lab.builders.passphraseKey.machinesLine}\n`);
    return { file, machines };
  };

  test('a key with a passphrase and no terminal: fails at once with that cause, naming ssh-agent', async () => {
    const { file, machines } = passphraseFile(randomBytes(6).toString('hex'));
    const started = Date.now();
    const result = await build(
      [file, '--machines', machines, '--ssh-config', lab.sshConfig, '--format', 'json'],
      lab.env(),
    );
    assert.ok(Date.now() - started < 30_000, 'it must not wait for a passphrase nobody can type');
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as { ok: boolean; cause: string; message: string };
    assert.equal(json.cause, 'passphrase-needed', result.stdout);
    assert.match(json.message, new RegExp(`${lab.passphraseKey.replace(/[/.]/g, '\\$&')} has a passphrase`));
    assert.match(json.message, /ssh-agent/);
    assert.match(result.stderr, /no terminal to ask/);
  });

  test('a key with a passphrase in a terminal: the prompt appears, the passphrase typed, the build succeeds', async () => {
    const { file, machines } = passphraseFile(randomBytes(6).toString('hex'));
    const argv = [process.execPath, CLI, 'build', file, '--machines', machines, '--ssh-config', lab.sshConfig];
    const result = await runInTerminal(
      argv,
      /Passphrase for \S+ \(not shown, not stored\): /,
      [lab.passphrase],
      lab.env(),
    );
    assert.equal(result.typed, 1, `no passphrase prompt:\n${result.output}`);
    assert.ok(!result.output.includes(lab.passphrase), 'the passphrase is not echoed');
    assert.equal(result.code, 0, result.output);
    const out = result.output.trim().split(/\r?\n/).pop()!.trim();
    assert.match(out, /^\/nix\/store\/[a-z0-9]{32}-nixrb-where-/);
    assert.equal(readWhereBuilt(out).hostname, lab.builders.passphraseKey.hostname);
  });
}
