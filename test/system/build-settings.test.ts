// A build on a builder is sent THIS machine's max-silent-time and timeout, as Nix's own build
// hook sends them (dispatch/buildSettings.ts; LegacySSHStore::buildDerivation, 2.8.0
// src/libstore/legacy-ssh-store.cc). What the builder does with them is its Nix's business:
// its `nix-store --serve` sets them for its own builds (opServe's getBuildSettings, 2.8.0
// src/nix-store/nix-store.cc), but "changing options here doesn't work if we're building through
// the daemon" (its FIXME): the lab's builders all build through their nix-daemon, where a 1 s
// max-silent-time sent by the client does not stop a 3 s silent build. Real Nix is the oracle:
// the same derivation and setting (NIX_CONFIG), `nix-build --builders <line> -j0` against the
// same builder, and ours must end the same way; on the lab's builders of each Nix it has (2.8,
// and the chroots' 2.26 and 2.34), since the options' fields differ by version (a field too many
// or too few would desynchronise the session and fail the build).
//   node --import tsx --test test/system/build-settings.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  provisionBuilders,
  run,
  versionBuilderNames,
  whereBuiltExpression,
  type BuilderLab,
  type BuilderName,
  type VersionBuilderName,
} from './fixture';
import { runCli } from './fixture/cli';
import { labCanRun, labReleasesThatRun } from './fixture/gate';
import { uniqueNonce } from './fixture/localStore';

const labRuns = labCanRun();
const RELEASES = labRuns ? labReleasesThatRun() : [];
type Name = BuilderName | VersionBuilderName;
const BUILDERS: Name[] = ['healthy', ...RELEASES.map((version) => versionBuilderNames(version)[0]!)];

let lab: BuilderLab<Name>;
let dir: string;

/** A derivation that prints nothing for 3 s, in a fresh file (nothing cached on either side). */
function silentBuild(): string {
  const file = join(dir, `silent-${uniqueNonce()}.nix`);
  writeFileSync(file, `${whereBuiltExpression({ nonce: uniqueNonce(), system: lab.system, sleepSeconds: 3 })}\n`);
  return file;
}

const silence = /timed out after 1 seconds of silence/;

describe('the build settings of this machine reach the builder', { skip: !labRuns, concurrency: 1 }, () => {
  before(async () => {
    lab = await provisionBuilders({ builders: BUILDERS });
    dir = mkdtempSync(join(lab.dir, 'build-settings-'));
  });
  after(async () => lab?.stop());

  for (const name of BUILDERS)
    test(`${name}: with max-silent-time = 1 and a 3 s silent build, ours ends as nix-build's does`, async () => {
      const line = lab.builders[name].machinesLine;
      const machines = join(dir, `${name}.machines`);
      writeFileSync(machines, `${line}\n`);
      const env = lab.env({ NIX_CONFIG: 'substituters =\nmax-silent-time = 1' });
      const nix = await run('nix-build', ['--no-out-link', '-j0', '--builders', line, silentBuild()], {
        env,
        timeoutMs: 60_000,
        cwd: '/',
      });
      const ours = await runCli(
        ['build', silentBuild(), '--machines', machines, '--ssh-config', lab.sshConfig, '--format', 'json'],
        env,
      );
      const outcome = JSON.parse(ours.stdout) as { ok: boolean; cause?: string; message?: string; logTail?: string[] };
      assert.equal(
        outcome.ok,
        nix.code === 0,
        `nix-build: ${nix.code} ${nix.stderr.slice(-400)}\nours: ${ours.stdout}`,
      );
      if (nix.code === 0) return;
      assert.match(nix.stderr, silence, nix.stderr);
      assert.equal(outcome.cause, 'build-failed', ours.stdout);
      assert.match([outcome.message, ...(outcome.logTail ?? [])].join('\n'), silence, ours.stdout);
    });
});
