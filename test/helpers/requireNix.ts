// The gate of every test that holds our code against real Nix: the installed Nix, or undefined
// after registering one test that says what to install — failing in CI (CI=true), skipped
// loudly elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findNix, type InstalledNix } from './nix';

const installHint = 'Install it with `apt-get install -y nix-bin` (Debian ships Nix 2.8.0).';

/** `what` names the check in the user's words: "our parser agrees with real Nix". */
export function requireRealNix(what: string): InstalledNix | undefined {
  const nix = findNix();
  if (nix !== undefined) return nix;
  if (process.env.CI === 'true') {
    test(`real Nix is installed (${what})`, () => assert.fail(`nix-build was not found, so we cannot check that ${what}. ${installHint}`));
  } else {
    console.warn(`\n!!! SKIPPED: checking that ${what} needs real Nix (nix-build not found). ${installHint}\n`);
    test(what, { skip: `Nix is not installed. ${installHint}` }, () => {});
  }
  return undefined;
}
