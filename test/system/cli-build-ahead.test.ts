// `nix-builders build` connects while Nix evaluates (dispatch/connectAhead.ts): the login to the
// machine the build will go to does not wait for the derivation. The real nix-instantiate runs
// behind a wrapper that first waits for a file the test never writes until the CLI is done, or
// 20 s, whichever comes first; meanwhile the trace (NIX_BUILDERS_TRACE=1) must show the
// connection made. Nothing here reads a clock: the order of the phases is the proof.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tracedPhases } from '../../server/src/context/timingTrace';
import { provisionBuilders, readWhereBuilt, whereBuiltExpression, type BuilderLab } from './fixture';
import { runCli } from './fixture/cli';
import { labCanRun } from './fixture/gate';

let lab: BuilderLab<'healthy' | 'unauthorizedKey'>;
let dir: string;
if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy', 'unauthorizedKey'] });
    dir = mkdtempSync(join(lab.dir, 'cli-ahead-'));
  });
  after(async () => lab?.stop());

  /** PATH with a nix-instantiate that waits until the trace says `connect` ended (or 20 s). */
  const slowEvaluation = (stderrFile: string) => {
    const bin = join(dir, `bin-${randomBytes(4).toString('hex')}`);
    mkdirSync(bin);
    const real = execFileSync('sh', ['-c', 'command -v nix-instantiate'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'nix-instantiate'),
      `#!/bin/sh\ni=0\nwhile [ $i -lt 200 ] && ! grep -q '"phase":"connect"' '${stderrFile}' 2>/dev/null; do sleep 0.1; i=$((i + 1)); done\nexec '${real}' "$@"\n`,
      { mode: 0o755 },
    );
    return bin;
  };

  test('the connection is made while Nix evaluates, and the build then uses it', async () => {
    const nonce = randomBytes(6).toString('hex');
    const file = join(dir, `ahead-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const machines = join(dir, 'machines');
    writeFileSync(machines, `${lab.builders.healthy.machinesLine}\n`);
    const stderrFile = join(dir, `stderr-${nonce}`);
    const bin = slowEvaluation(stderrFile);
    const env = { ...lab.env(), PATH: `${bin}:${process.env.PATH}`, NIX_BUILDERS_TRACE: '1' };
    // The CLI's stderr goes to the file the wrapper reads, through a shell redirect of our own.
    const result = await runCli(['build', file, '--machines', machines, '--ssh-config', lab.sshConfig], env, dir, [
      'sh',
      '-c',
      `"$@" 2> '${stderrFile}'; status=$?; cat '${stderrFile}' >&2; exit $status`,
      'sh',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const phases = tracedPhases(result.stderr);
    const connect = phases.find((p) => p.phase === 'connect');
    const evaluation = phases.find((p) => p.phase === 'evaluation');
    assert.ok(connect && evaluation, result.stderr);
    assert.ok(
      phases.indexOf(connect) < phases.indexOf(evaluation),
      `the connection was made before the evaluation ended:\n${result.stderr}`,
    );
    assert.equal(phases.filter((p) => p.phase === 'connect').length, 1, 'one login: the build used it');
    assert.equal(readWhereBuilt(result.stdout.trim().split('\n').pop()!).hostname, lab.builders.healthy.hostname);
  });

  test('a connection ahead that fails is not the build\u2019s failure: the build connects itself and says why', async () => {
    const nonce = randomBytes(6).toString('hex');
    const file = join(dir, `refused-${nonce}.nix`);
    writeFileSync(file, `${whereBuiltExpression({ nonce, system: lab.system })}\n`);
    const machines = join(dir, 'refused.machines');
    writeFileSync(machines, `${lab.builders.unauthorizedKey.machinesLine}\n`);
    const result = await runCli(
      ['build', file, '--machines', machines, '--ssh-config', lab.sshConfig, '--format', 'json'],
      lab.env(),
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { cause: string }).cause, 'auth');
  });
}
