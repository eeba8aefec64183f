// The probe limited to what Nix does to open a store (`storeOpenOnly`, what the probe bench sets
// beside `nix store ping`): the same stages and nothing more, and where Nix's own command fails
// on the lab's builders, so does it, at the store's greeting.
//   node --import tsx --test test/system/probe-store-open.test.ts   (as root)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { runProbe } from '../../server/src/health/probe';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { provisionBuilders, type BuilderLab } from './fixture';
import { labCanRun } from './fixture/gate';

type Name = 'healthy' | 'healthyNg' | 'noisy';

describe('the probe as Nix opens a store', { skip: !labCanRun() }, () => {
  let lab: BuilderLab<Name>;
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy', 'healthyNg', 'noisy'] });
  });
  after(async () => lab?.stop());

  const probe = (name: Name) =>
    runProbe(parseBuilders(lab.builders[name].uri, nix2_8Rules, { localSystem: lab.system }).machines[0]!, {
      env: lab.env(),
      sshConfigFile: lab.sshConfig,
      storeOpenOnly: true,
    });
  const nixStorePing = (name: Name) =>
    spawnSync(
      'nix',
      ['--extra-experimental-features', 'nix-command', 'store', 'ping', '--store', lab.builders[name].uri],
      { env: lab.env(), encoding: 'utf8' },
    );

  for (const name of ['healthy', 'healthyNg'] as const) {
    test(`${name}: up after resolve, tcp, handshake, auth and the store's greeting only, as nix store ping`, async () => {
      const result = await probe(name);
      assert.equal(nixStorePing(name).status, 0);
      assert.equal(result.status, 'up', JSON.stringify(result.findings));
      assert.deepEqual(
        result.stages.map((stage) => [stage.name, stage.ok]),
        ['resolve', 'tcp', 'handshake', 'auth', 'store'].map((stage) => [stage, true]),
      );
    });
  }

  test("noisy (a greeting in ~/.bashrc): both fail at the store's greeting", async () => {
    const nix = nixStorePing('noisy');
    assert.notEqual(nix.status, 0);
    assert.match(nix.stderr, /protocol mismatch/);
    const result = await probe('noisy');
    assert.equal(result.status, 'down');
    assert.deepEqual(
      result.findings.map((finding) => finding.code),
      ['protocol-mismatch'],
    );
    assert.deepEqual(result.stages.at(-1), { ...result.stages.at(-1)!, name: 'store', ok: false });
  });
});
