// "This machine" on Nix 2.34, against a real 2.34 nix-daemon: the lab's healthy234 and
// untrusted234 hosts run one each (trusted-users = root nixrb-ssh, and root alone), and the
// commands run there as nixrb-ssh, chrooted into the host's Debian sid, as a user of that
// machine would run them. 2.34's `nix store info --json` says `trusted` itself (since 2.15,
// NixOS/nix 9207f94582); our reading of trusted-users (the daemon's matchUser) must agree with
// it; and the daemon's 2.22+ warning (NixOS/nix 40a7929c8e) about ignoring --builders is read as
// the trust cause by the distributed build's explanation.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { explain } from '../../server/src/dispatch/distributed';
import { detectLocalMachine } from '../../server/src/localMachine/localMachine';
import { daemonViewEnv, showConfig, type NixRunner } from '../../server/src/localMachine/nixSettings';
import { matchingEntry } from '../../server/src/localMachine/userTrust';
import { processesOf, provisionBuilders, run, whereBuiltExpression, type BuilderLab } from './fixture';
import { labNixCanRun } from './fixture/gate';

type Host = 'healthy234' | 'untrusted234';

if (labNixCanRun('2.34')) {
  let lab: BuilderLab<Host>;
  before(async () => {
    lab = await provisionBuilders({ builders: ['healthy234', 'untrusted234'] });
  });
  after(async () => lab?.stop());

  /** A process inside the host's PID and mount namespaces (where its /proc is the host's). */
  const insideHost = (name: Host): { pid: number; root: string } => {
    const hostDir = path.dirname(lab.builders[name].storeRoot);
    const ownPidNs = fs.readlinkSync('/proc/self/ns/pid');
    const pid = processesOf(hostDir).find((candidate) => {
      try {
        return fs.readlinkSync(`/proc/${candidate}/ns/pid`) !== ownPidNs;
      } catch {
        return false;
      }
    });
    assert.ok(pid !== undefined, `no process inside ${name}`);
    return { pid, root: path.join(hostDir, 'root') };
  };
  /** Runs a program as nixrb-ssh on the host, chrooted into its sid. */
  const onHost = (name: Host, program: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const { pid, root } = insideHost(name);
    return run(
      'nsenter',
      [
        '--target',
        String(pid),
        '--mount',
        '--pid',
        '--',
        'chroot',
        root,
        'runuser',
        '-u',
        lab.user,
        '--',
        program,
        ...args,
      ],
      {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp', ...env },
      },
    );
  };
  const nixOn =
    (name: Host): NixRunner =>
    async (args, env) => {
      const result = await onHost(name, 'nix', ['--extra-experimental-features', 'nix-command', ...args], env);
      return { ok: result.code === 0, stdout: result.stdout, stderr: result.stderr };
    };
  const account = () => ({ user: lab.user, primaryGroup: lab.user });

  for (const [name, trusted] of [
    ['healthy234', true],
    ['untrusted234', false],
  ] as const) {
    test(`${name}: the daemon says trusted = ${trusted} (nix store info --json), and trusted-users read as the daemon does agrees`, async () => {
      const info = await detectLocalMachine({ nix: nixOn(name), account: account(), env: { HOME: '/tmp' } });
      assert.equal(info.nixVersion, '2.34.8');
      assert.equal(info.mode, 'daemon');
      assert.equal(info.trusted, trusted, info.trustedBy);
      assert.match(info.trustedBy, /nix store info --json/);
      assert.equal(
        info.findings.some((finding) => finding.code === 'local-untrusted'),
        !trusted,
      );
      const daemon = await showConfig(nixOn(name), daemonViewEnv({}), { major: 2, minor: 34, patch: 8 });
      assert.ok(daemon, 'nix config show --json printed settings');
      assert.equal(
        (await matchingEntry(account(), daemon.trustedUsers, async () => [])) !== undefined,
        trusted,
        `trusted-users = ${daemon.trustedUsers.join(' ')}`,
      );
    });
  }

  test("untrusted234: Nix 2.34 warns that it ignores --builders, and the distributed build's explanation names trust", async () => {
    const nonce = `warn-${Date.now()}`;
    const result = await onHost('untrusted234', 'nix-build', [
      '--no-out-link',
      '-j0',
      '--builders',
      `ssh://nowhere ${lab.system}`,
      '-E',
      whereBuiltExpression({ nonce, system: lab.system }),
    ]);
    assert.notEqual(result.code, 0, result.output);
    assert.match(
      result.output,
      /ignoring the client-specified setting 'builders', because it is a restricted setting and you are not a trusted user/,
    );
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    const message = explain(
      lines.filter((line) => line.startsWith('error:')),
      lines,
      result.code,
      result.signal,
    );
    assert.match(message, /ignored the builders we gave it, because your user is not in its trusted-users/);
  });
}
