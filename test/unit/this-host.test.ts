// Which host a .nix file declares builders for (nixModules/thisHost.ts): a configuration is this
// machine's when its hostName (or flake name) is the machine's host name, short or in full.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builderConfigurations } from '../../server/src/nixModules/builderConfigurations';
import { declaredFor, thisHostNames } from '../../server/src/nixModules/thisHost';

const files: Record<string, string> = {
  '/w/here.nix': '{ imports = [ ./builders.nix ]; networking.hostName = "Alpha"; networking.domain = "lab.org"; }',
  '/w/builders.nix': '{ nix.buildMachines = [ { hostName = "b"; system = "x86_64-linux"; } ]; }',
  '/w/far.nix': '{ networking.hostName = "beta"; nix.buildMachines = [ ]; }',
  '/w/loose.nix': '{ nix.buildMachines = [ ]; }',
};
const configurations = builderConfigurations(Object.keys(files), (f) => files[f]);

test("a machine whose host name is the FQDN or the short name finds its own configuration's imported file", () => {
  assert.deepEqual(thisHostNames('alpha.lab.org'), ['alpha.lab.org', 'alpha']);
  for (const name of ['alpha.lab.org', 'alpha', 'ALPHA']) {
    assert.deepEqual(declaredFor('/w/builders.nix', configurations, thisHostNames(name)), { host: 'this' }, name);
  }
});

test("another host's configuration is named; a file no configuration names is compared as before", () => {
  assert.deepEqual(declaredFor('/w/far.nix', configurations, thisHostNames('alpha')), { host: 'other', name: 'beta' });
  assert.deepEqual(declaredFor('/w/builders.nix', configurations, thisHostNames('beta')), {
    host: 'other',
    name: 'Alpha',
  });
  assert.deepEqual(declaredFor('/w/loose.nix', configurations, thisHostNames('alpha')), { host: 'unnamed' });
});
