// "This machine" (server/src/localMachine/): the daemon's matchUser rule for trusted-users, the
// settings read from `nix show-config --json` / `nix config show --json`, and what a
// distributed build does with the builders of a daemon that does not trust the user. The
// detection is held against real Nix (the machine's 2.8 and the version lab's 2.26 and 2.34, as
// root with their own store: single-user); the daemon side runs for real in the system tier
// (test/system/multiuser.test.ts, local-machine-2.34.test.ts).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { buildersVerdict } from '../../server/src/dispatch/distributedTrust';
import { detectLocalMachine } from '../../server/src/localMachine/localMachine';
import { parseShowConfig, type NixRunner } from '../../server/src/localMachine/nixSettings';
import { matchingEntry } from '../../server/src/localMachine/userTrust';
import type { LocalMachineInfo } from '../../server/src/protocol';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';

describe('trusted-users as the nix-daemon matches it (matchUser)', () => {
  const members = async (group: string) => (group === 'wheel' ? ['alice'] : []);
  const alice = { user: 'alice', primaryGroup: 'users' };
  test("`*`, the user's name, its primary group and a group listing it match; nothing else does", async () => {
    assert.equal(await matchingEntry(alice, ['root', '*'], members), '*');
    assert.equal(await matchingEntry(alice, ['root', 'alice'], members), 'alice');
    assert.equal(await matchingEntry(alice, ['root', '@users'], members), '@users');
    assert.equal(await matchingEntry(alice, ['root', '@wheel'], members), '@wheel');
    assert.equal(await matchingEntry(alice, ['root', '@nixbld', 'bob', 'alicex', '@'], members), undefined);
    assert.equal(await matchingEntry(alice, [], members), undefined);
  });
});

describe('nix show-config --json', () => {
  test('text that is not JSON, or JSON of another shape, reads as no settings (never a throw)', () => {
    for (const text of ['', 'nope', '[]', 'null', '{"builders": 3}', '{"trusted-users":{"value":"root"}}']) {
      const parsed = parseShowConfig(text);
      if (parsed !== undefined) assert.ok(Array.isArray(parsed.trustedUsers));
    }
    assert.deepEqual(parseShowConfig('{"trusted-users":{"value":"root @wheel"}}')?.trustedUsers, ['root', '@wheel']);
  });
});

describe("a distributed build and the daemon's trust", () => {
  const base: LocalMachineInfo = {
    user: 'alice',
    mode: 'daemon',
    storeUrl: 'daemon',
    nixVersion: '2.8.0',
    trusted: false,
    trustedBy: 'trusted-users = root',
    system: 'x86_64-linux',
    extraPlatforms: [],
    systemFeatures: [],
    maxJobs: '1',
    builders: '',
    buildersOf: 'daemon',
    userBuildersHonoured: false,
    findings: [],
  };
  test('trusted, or single-user: our --builders is honoured', () => {
    assert.equal(buildersVerdict({ ...base, trusted: true }).kind, 'honoured');
    assert.equal(buildersVerdict({ ...base, mode: 'single-user', trusted: true }).kind, 'honoured');
  });
  test("untrusted, the daemon's machines file empty or missing: refused, naming trust and the nix.conf line", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixrb-trust-'));
    try {
      fs.writeFileSync(path.join(dir, 'machines'), '# nothing yet\n\n');
      execFileSync('mkfifo', [path.join(dir, 'fifo')]);
      // A FIFO is never opened (it would block): no machines there.
      for (const builders of ['', `@${dir}/machines`, `@${dir}/missing`, `@${dir}/fifo`]) {
        const verdict = buildersVerdict({ ...base, builders });
        assert.equal(verdict.kind, 'refused', builders);
        assert.match(
          verdict.kind === 'refused' ? verdict.message : '',
          /does not trust alice.*extra-trusted-users = alice/s,
        );
      }
      fs.writeFileSync(path.join(dir, 'machines'), 'ssh://b x86_64-linux\n');
      assert.equal(buildersVerdict({ ...base, builders: `@${dir}/machines` }).kind, 'daemon-builders');
      assert.equal(buildersVerdict({ ...base, builders: 'ssh://b x86_64-linux' }).kind, 'daemon-builders');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** `nix` of the machine, or of a chroot of the version lab. */
const runnerFor =
  (root: string | undefined): NixRunner =>
  (args, env) =>
    new Promise((resolve) => {
      const flags = ['--extra-experimental-features', 'nix-command', ...args];
      const [command, argv] = root === undefined ? ['nix', flags] : ['chroot', [root, 'nix', ...flags]];
      execFile(command, argv, { env, encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) =>
        resolve({ ok: error === null, stdout, stderr }),
      );
    });

const installed = requireRealNix('"This machine" reads real Nix');
const nixes = installed ? [installed, ...requireLabNixes('"This machine" reads real Nix')] : [];
for (const nix of nixes) {
  const asRoot = process.getuid?.() === 0;
  test(
    `Nix ${nix.versionText.split(' ').pop()}: as root with its own store, single-user and trusted, with the settings Nix prints`,
    { skip: !asRoot && 'needs root (its own store)' },
    async () => {
      const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixrb-local-'));
      try {
        fs.writeFileSync(
          path.join(confDir, 'nix.conf'),
          'max-jobs = 3\nbuilders = ssh://b x86_64-linux\nsubstituters =\n',
        );
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          HOME: confDir,
          NIX_USER_CONF_FILES: path.join(confDir, 'nix.conf'),
          NIX_REMOTE: 'local',
        };
        const info = await detectLocalMachine({
          env,
          nix: runnerFor(nix.root),
          account: { user: 'root', primaryGroup: 'root' },
        });
        assert.equal(info.nixVersion, nix.versionText.split(' ').pop());
        assert.equal(info.mode, 'single-user');
        assert.equal(info.storeUrl, 'local');
        assert.equal(info.trusted, true);
        assert.equal(info.system, nix.system);
        assert.equal(info.maxJobs, '3');
        assert.equal(info.builders, 'ssh://b x86_64-linux');
        assert.equal(info.buildersOf, 'user');
        assert.deepEqual(info.findings, []);
      } finally {
        fs.rmSync(confDir, { recursive: true, force: true });
      }
    },
  );
}
