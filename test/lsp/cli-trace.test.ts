// `NIX_BUILDERS_TRACE=1 nix-builders build …`: the build path's phases, timed, one line each on
// stderr (context/timingTrace.ts), for the bench and for whoever asks where the time went.
// Without the variable no trace line is printed, and stdout is the same either way (scripts
// read the output paths from it). Real Nix evaluates; no machine is given, so the build stops
// at "no machine fits" after the evaluation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tracedPhases, tracePrefix } from '../../server/src/context/timingTrace';
import { requireRealNix } from '../helpers/requireNix';

const dir = mkdtempSync(join(tmpdir(), 'nix-builders-cli-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function build(trace: boolean) {
  const file = join(dir, 'one.nix');
  writeFileSync(
    file,
    'derivation { name = "traced"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }\n',
  );
  const machines = join(dir, 'machines');
  writeFileSync(machines, '');
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONFIG: 'substituters =' };
  if (trace) env.NIX_BUILDERS_TRACE = '1';
  else delete env.NIX_BUILDERS_TRACE;
  return spawnSync(
    process.execPath,
    [join(__dirname, '../../dist/cli.js'), 'build', file, '--machines', machines, '--format', 'json'],
    { encoding: 'utf8', timeout: 120_000, env },
  );
}

const nix = requireRealNix('the trace times a real evaluation');
if (nix !== undefined) {
  test('with NIX_BUILDERS_TRACE=1 each phase is a line on stderr, in order, with its start and length', () => {
    const result = build(true);
    assert.equal(result.status, 1, result.stderr);
    const phases = tracedPhases(result.stderr);
    const names = phases.map((p) => p.phase);
    assert.deepEqual(
      names.filter((name) => ['node start + bundle load', 'evaluation'].includes(name)),
      ['node start + bundle load', 'evaluation'],
      result.stderr,
    );
    const start = phases.find((p) => p.phase === 'node start + bundle load')!;
    const evaluation = phases.find((p) => p.phase === 'evaluation')!;
    assert.equal(start.at, 0);
    assert.ok(start.ms > 0);
    assert.ok(evaluation.at >= start.ms, 'the evaluation starts once the bundle is loaded');
    assert.ok(evaluation.ms > 0);
    assert.doesNotMatch(result.stdout, new RegExp(tracePrefix), 'no trace on stdout');
    assert.equal((JSON.parse(result.stdout) as { cause: string }).cause, 'no-machine');
  });

  test('without the variable there is no trace, and stdout is the same', () => {
    const quiet = build(false);
    const traced = build(true);
    assert.doesNotMatch(quiet.stderr, new RegExp(tracePrefix));
    const shape = (stdout: string) => ({ ...(JSON.parse(stdout) as object), ms: 0 });
    assert.deepEqual(shape(quiet.stdout), shape(traced.stdout));
  });
}
