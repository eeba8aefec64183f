// The server context every service receives: trust only from a literal `true`, and "the Nix we
// follow here" from one call, against the Nix really installed on this machine.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { cliContext } from '../../server/src/context/serverContext';
import { WorkspaceTrust } from '../../server/src/context/trust';
import { formatNixVersion, parseNixVersion } from '../../server/src/model/nixVersion';

test('workspace trust: only `true` trusts, and it can be taken back', () => {
  const trust = new WorkspaceTrust();
  assert.equal(trust.trusted, false, 'untrusted until the client says so');
  for (const value of ['true', 1, {}, undefined, null]) {
    trust.set(value);
    assert.equal(trust.trusted, false, `${JSON.stringify(value)} does not trust`);
  }
  trust.setFromInitializationOptions({ trusted: true });
  assert.equal(trust.trusted, true);
  trust.setFromInitializationOptions(undefined);
  assert.equal(trust.trusted, false, 'an older client sends no options: untrusted');
  trust.set(true);
  trust.set(false);
  assert.equal(trust.trusted, false);
});

test('the CLI context follows the installed Nix when no version is given', async () => {
  const installed = parseNixVersion(execFileSync('nix', ['--version'], { encoding: 'utf8' }));
  assert.ok(installed, 'a Nix is installed here');
  const here = await cliContext({}).nixHere();
  assert.deepEqual(here.local.version, installed);
  assert.deepEqual(here.target.version, installed);
  assert.equal(here.target.describe, `Nix ${formatNixVersion(installed)} (installed)`);
  assert.equal(here.settings.nixVersion, 'auto');
});

test('the CLI context follows --nix-version and carries --ssh-config, trusted', async () => {
  const context = cliContext({ nixVersion: '2.26.3', sshConfigFile: '/etc/ssh/other_config' });
  const here = await context.nixHere('file:///any/document');
  assert.deepEqual(here.target.version, { major: 2, minor: 26, patch: 3 });
  assert.equal(here.target.describe, 'Nix 2.26.3 (nixBuilders.nixVersion)');
  assert.equal(here.settings.sshConfigFile, '/etc/ssh/other_config');
  assert.equal(context.trusted, true, 'whoever runs the CLI trusts what they point it at');
});
