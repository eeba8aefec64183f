// `nix-builders ping` on real builders: every machine probed in parallel, JSON per machine with
// status, findings, stages and facts, exit 1 when one is unusable.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runInTerminal } from '../helpers/inTerminal';
import { provisionBuilders, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';

const cli = join(__dirname, '../../dist/cli.js');
function ping(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'ping', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Json = {
  uri: string;
  status: string;
  findings: { code: string; severity: string; message: string }[];
  stages: { name: string; ms: number }[];
  facts: Record<string, unknown>;
}[];

let lab: BuilderLab<'healthy' | 'healthyNg' | 'closedPort' | 'noisy' | 'passphraseKey'>;
if (labCanRun()) {
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy', 'healthyNg', 'closedPort', 'noisy', 'passphraseKey'] });
  });
  after(async () => lab?.stop());

  test('healthy builders are up with their facts; exit 0', async () => {
    const builders = [lab.builders.healthy.machinesLine, lab.builders.healthyNg.machinesLine].join(' ; ');
    const result = await ping(['--builders', builders, '--ssh-config', lab.sshConfig, '--format', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as Json;
    assert.deepEqual(
      json.map((m) => [m.uri, m.status]),
      [
        [lab.builders.healthy.uri, 'up'],
        [lab.builders.healthyNg.uri, 'up'],
      ],
    );
    assert.equal(json[0]!.facts.system, lab.system);
    assert.ok(json[0]!.stages.some((s) => s.name === 'auth' && s.ms >= 0));
  });

  test('a machines file with a dead and a noisy builder: each named with its cause; exit 1', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync(join(lab.dir, 'cli-'));
    const file = join(dir, 'machines');
    writeFileSync(
      file,
      `${lab.builders.healthy.machinesLine}\n${lab.builders.closedPort.machinesLine}\n${lab.builders.noisy.machinesLine}\n`,
    );
    const result = await ping(['--machines', file, '--ssh-config', lab.sshConfig]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`✓ ${lab.builders.healthy.uri}  up`));
    assert.match(
      result.stdout,
      new RegExp(`✗ ${lab.builders.closedPort.uri}  down[^\\n]*\\n    error connection-refused: `),
    );
    assert.match(result.stdout, /error shell-noise: /);
    assert.match(result.stderr, /1\/3 builders usable/);
  });

  test('a key with a passphrase: without a terminal ping says so; in one a wrong passphrase is asked again', async () => {
    const line = lab.builders.passphraseKey.machinesLine;
    const batch = await ping(['--builders', line, '--ssh-config', lab.sshConfig]);
    assert.equal(batch.code, 1, batch.stdout + batch.stderr);
    assert.match(batch.stderr, /has a passphrase and there is no terminal to ask for it\. Load the key into ssh-agent/);
    assert.match(batch.stdout, /error key-encrypted: /);

    const argv = [process.execPath, cli, 'ping', '--builders', line, '--ssh-config', lab.sshConfig];
    const result = await runInTerminal(
      argv,
      /Passphrase for \S+ \(not shown, not stored\): /,
      ['not it', lab.passphrase],
      lab.env(),
    );
    assert.equal(result.typed, 2, result.output);
    assert.match(result.output, /That passphrase does not open /);
    // Logged in; BatchMode in the lab's ssh config means Nix itself could not ask: a warning.
    assert.match(result.output, /warning key-passphrase-prompt: /);
    assert.equal(result.code, 0, result.output);
  });
}
