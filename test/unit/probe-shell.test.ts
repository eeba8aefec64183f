// The probe of a machine whose store settings hold shell code: reported as unusable with the
// lint's code, before anything connects (a probe that passed would say "Nix can use this").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeMachines } from '../../server/src/health/probe';

test('remote-program with shell code: down with shell-in-store-setting, no TCP connection, no ssh -G', async () => {
  const connects: string[] = [];
  const uris = [
    'ssh://127.0.0.1:1?remote-program=$(touch${IFS}/tmp/x)nix-store',
    'ssh-ng://127.0.0.1:1?remote-program=sh%20-c%20%27true%27',
    'ssh://127.0.0.1:1?remote-store=%60id%60',
  ];
  const results = await probeMachines(
    uris.map((storeUri) => ({ storeUri, sshKey: undefined, publicHostKey: undefined })),
    {
      sshBinary: '/nonexistent/ssh-must-not-run',
      timeoutMs: 2000,
      onTcpConnect: (host, port) => connects.push(`${host}:${port}`),
    },
  );
  for (const [i, result] of results.entries()) {
    assert.equal(result.status, 'down', uris[i]);
    assert.deepEqual(
      result.findings.map((f) => f.code),
      ['shell-in-store-setting'],
      uris[i],
    );
    assert.match(result.findings[0]!.message, /run as shell code on the builder/);
    assert.deepEqual(result.stages, []);
  }
  assert.match(results[1]!.findings[0]!.message, /remote-program is "sh -c 'true'"/);
  assert.deepEqual(connects, []);
});
