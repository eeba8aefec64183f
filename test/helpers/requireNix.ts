// The gate of every test that holds our code against real Nix: the installed Nix, or undefined
// after registering one test that says what to install — failing in CI (CI=true), skipped
// loudly elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findNix, labNixRoots, type InstalledNix } from './nix';

const installHint = 'Install it with `apt-get install -y nix-bin` (Debian ships Nix 2.8.0).';

/** `what` names the check in the user's words: "our parser agrees with real Nix". */
export function requireRealNix(what: string): InstalledNix | undefined {
  const nix = findNix();
  if (nix !== undefined) return nix;
  if (process.env.CI === 'true') {
    test(`real Nix is installed (${what})`, () =>
      assert.fail(`nix-build was not found, so we cannot check that ${what}. ${installHint}`));
  } else {
    console.warn(`\n!!! SKIPPED: checking that ${what} needs real Nix (nix-build not found). ${installHint}\n`);
    test(what, { skip: `Nix is not installed. ${installHint}` }, () => {});
  }
  return undefined;
}

const labHint =
  'Run the tests through `npm test` (as root): it makes the lab with scripts/nix-versions.sh (Debian trixie and sid chroots, Nix 2.26 and 2.34).';

/**
 * The Nix versions of the lab besides the machine's own (2.26 and 2.34), each checked to run;
 * in CI a missing one fails, elsewhere it is skipped loudly.
 */
export function requireLabNixes(what: string): InstalledNix[] {
  const roots = labNixRoots();
  const found = roots.map((root) => ({ root, nix: findNix(root) }));
  const broken = found.filter((f) => f.nix === undefined).map((f) => f.root);
  const problem =
    roots.length === 0
      ? 'the version lab is not set up (NIXRB_NIX_VERSIONS is empty)'
      : broken.length > 0
        ? `Nix does not run in ${broken.join(', ')}`
        : undefined;
  if (problem !== undefined) {
    if (process.env.CI === 'true')
      test(`the version lab's Nix runs (${what})`, () =>
        assert.fail(`${problem}, so we cannot check that ${what} on other Nix versions. ${labHint}`));
    else {
      console.warn(`\n!!! SKIPPED on other Nix versions: checking that ${what}: ${problem}. ${labHint}\n`);
      test(`${what} on other Nix versions`, { skip: `${problem}. ${labHint}` }, () => {});
    }
  }
  return found.flatMap((f) => (f.nix === undefined ? [] : [f.nix]));
}
