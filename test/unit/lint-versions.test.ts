// The messages our warnings quote, in the words of each Nix version (rows of versionRuleTable);
// that these are what real 2.8, 2.26.3 and 2.34.8 print is checked by lint-oracle.test.ts. Here:
// each boundary of a row, on both sides, without Nix.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { parseNixVersion, rulesFor, type NixVersion } from '../../server/src/model/nixVersion';
import type { Problem, ProblemCode } from '../../server/src/model/problem';
import { lintBuilders, lintNixConf, type LintContext } from '../../server/src/model/lint/index';
import { explain } from '../../server/src/dispatch/distributed';
import { cannotBuildHereWords, noMachineWords } from '../../server/src/model/nixMessages';
import { cannotBuildReason, nixPrinted } from '../helpers/nixOutput';

const at = (text: string): LintContext => {
  const version = parseNixVersion(text) as NixVersion;
  return { version, rules: rulesFor(version), keyHome: '/root', daemon: true };
};
const lint = (text: string, context: LintContext) =>
  lintBuilders(parseBuilders(text, context.rules, { localSystem: 'x86_64-linux' }), context);
const one = (problems: Problem[], code: ProblemCode): Problem => {
  const found = problems.filter((p) => p.code === code);
  assert.equal(found.length, 1, `expected one ${code}, got ${JSON.stringify(problems, null, 1)}`);
  return found[0]!;
};
const said = (text: string, version: string, code: ProblemCode) => one(lint(text, at(version)), code).nixMessage;

describe('connect-time refusals in each version’s words', () => {
  test("user@-host: ssh's refusal, wrapped as `cannot connect to` before 2.15, `failed to start SSH connection to` from 2.15, Nix's own check from 2.31", () => {
    const text = 'ssh://nix@-b x86_64-linux';
    assert.equal(
      said(text, '2.14.1', 'host-starts-with-dash'),
      "cannot connect to 'nix@-b': hostname contains invalid characters",
    );
    assert.equal(
      said(text, '2.15.0', 'host-starts-with-dash'),
      "failed to start SSH connection to 'nix@-b': hostname contains invalid characters",
    );
    assert.equal(
      said(text, '2.30.5', 'host-starts-with-dash'),
      "failed to start SSH connection to 'nix@-b': hostname contains invalid characters",
    );
    const p = one(lint(text, at('2.31.0')), 'host-starts-with-dash');
    assert.equal(p.nixMessage, "invalid SSH authority: 'nix@-b': host name '-b' must not start with '-'");
    assert.match(p.message, /from Nix 2\.31/);
  });

  test('-host: `invalid SSH host name` before 2.31, `invalid SSH authority` from 2.31; a user starting with - too', () => {
    assert.equal(said('ssh://-b x86_64-linux', '2.30.5', 'host-starts-with-dash'), "invalid SSH host name '-b'");
    assert.equal(
      said('ssh://-b x86_64-linux', '2.31.0', 'host-starts-with-dash'),
      "invalid SSH authority: '-b': host name '-b' must not start with '-'",
    );
    assert.equal(said('ssh://-u@b x86_64-linux', '2.30.5', 'host-starts-with-dash'), "invalid SSH host name '-u@b'");
    assert.equal(
      said('ssh://-u@b x86_64-linux', '2.31.0', 'host-starts-with-dash'),
      "invalid SSH authority: '-u@b': user name '-u' must not start with '-'",
    );
  });

  test('no host: 2.8 `invalid SSH host name`, 2.23 "`ssh` store requires a valid SSH host", 2.31 `host name must not be empty`', () => {
    const text = 'ssh://?a=1 x86_64-linux';
    assert.equal(said(text, '2.22.4', 'store-uri-unusable'), "invalid SSH host name ''");
    assert.equal(
      said(text, '2.23.0', 'store-uri-unusable'),
      '`ssh` store requires a valid SSH host as the authority part in Store URI',
    );
    assert.equal(
      said('ssh-ng://?a=1 x86_64-linux', '2.26.3', 'store-uri-unusable'),
      '`ssh-ng` store requires a valid SSH host as the authority part in Store URI',
    );
    assert.equal(said(text, '2.31.0', 'store-uri-unusable'), "invalid SSH authority: '': host name must not be empty");
    // With a user: ssh's "Could not resolve hostname" before 2.31 (no quote), Nix's own check from 2.31.
    assert.equal(said('ssh://nix@?a=1 x86_64-linux', '2.30.5', 'store-uri-unusable'), undefined);
    assert.equal(
      said('ssh://nix@?a=1 x86_64-linux', '2.31.0', 'store-uri-unusable'),
      "invalid SSH authority: 'nix@': host name must not be empty",
    );
  });

  test('an empty user name (`ssh://@b`): ssh prints its usage before 2.31 (no quote), Nix refuses it from 2.31; the fix drops the @', () => {
    const before = one(lint('ssh://@b x86_64-linux', at('2.30.5')), 'store-uri-unusable');
    assert.equal(before.nixMessage, undefined);
    assert.match(before.message, /ssh prints its usage/);
    assert.equal(before.data?.suggestion, 'ssh://b');
    const from = one(lint('ssh://@b x86_64-linux', at('2.31.0')), 'store-uri-unusable');
    assert.equal(from.nixMessage, "invalid SSH authority: '@b': user name must not be empty");
    assert.match(from.message, /from Nix 2\.31/);
  });

  test("an unknown scheme: `don't know how to open Nix store '<uri>'`, from 2.23 `… with scheme '<scheme>'`", () => {
    assert.equal(
      said('shh://b x86_64-linux', '2.22.4', 'store-uri-unusable'),
      "don't know how to open Nix store 'shh://b'",
    );
    assert.equal(
      said('shh://b x86_64-linux', '2.23.0', 'store-uri-unusable'),
      "don't know how to open Nix store with scheme 'shh'",
    );
  });

  test('mounted-ssh-ng:// is an unknown store before 2.20, an ssh store from 2.20', () => {
    const p = one(lint('mounted-ssh-ng://b?remote-program=`id` x86_64-linux', at('2.19.7')), 'store-uri-unusable');
    assert.equal(p.nixMessage, "don't know how to open Nix store 'mounted-ssh-ng://b?remote-program=`id`'");
    assert.match(p.message, /Nix 2\.19 \(before 2\.20\) has no store type/);
    assert.deepEqual(
      lint('mounted-ssh-ng://b?remote-program=`id` x86_64-linux', at('2.19.7')).map((x) => x.code),
      ['store-uri-unusable'],
    );
    assert.equal(
      said('mounted-ssh-ng://-b x86_64-linux', '2.20.0', 'host-starts-with-dash'),
      "invalid SSH host name '-b'",
    );
    assert.deepEqual(lint('mounted-ssh-ng://b x86_64-linux', at('2.20.0')), []);
  });

  test('a URI Nix 2.23+ rejects when reading the list: the parser’s error, and no warning claiming Nix takes it', () => {
    for (const text of ['nix@b?ssh-key=/k x86_64-linux', 'ssh://b?remote-program=`id` x86_64-linux']) {
      assert.ok(lint(text, at('2.22.4')).length > 0, text);
      const parsed = parseBuilders(text, at('2.23.0').rules, { localSystem: 'x86_64-linux' });
      assert.equal(parsed.problems.find((p) => p.severity === 'error')?.code, 'store-uri-not-a-url', text);
      assert.deepEqual(lint(text, at('2.23.0')), [], text);
    }
  });
});

describe('ssh-key-relative: from Nix 2.34 the key must be an absolute path', () => {
  test('a relative key or a ~ path is a warning from 2.34 (quoting Nix), and nothing before', () => {
    assert.equal(
      lint('ssh://b x86_64-linux relative/key', at('2.33.6')).filter((p) => p.code === 'ssh-key-relative').length,
      0,
    );
    const p = one(lint('ssh://b x86_64-linux relative/key', at('2.34.0')), 'ssh-key-relative');
    assert.equal(p.severity, 'warning');
    assert.equal(p.nixMessage, 'not an absolute path: "relative/key"');
    assert.match(p.message, /From Nix 2\.34/);
    assert.match(p.message, /cannot build on 'ssh:\/\/b'/);
    const tilde = one(lint('ssh://b x86_64-linux ~/.ssh/k', at('2.34.8')), 'ssh-key-relative');
    assert.equal(tilde.nixMessage, 'not an absolute path: "~/.ssh/k"');
    assert.equal(tilde.data?.suggestion, '/root/.ssh/k');
    assert.equal(
      lint('ssh://b x86_64-linux /nonexistent/k', at('2.34.8')).filter((p) => p.code === 'ssh-key-relative').length,
      0,
    );
  });
});

describe('max-jobs = 0 with no builder, in each version’s words', () => {
  const conf = 'max-jobs = 0\nbuilders =\n';
  const quoted = (version: string) =>
    one(
      lintNixConf(parseNixConf(conf, at(version).rules, { path: '/etc/nix/nix.conf' }), at(version)),
      'nothing-can-build',
    );
  test('2.8: lower case; 2.21: capitalised; 2.34: `Cannot build` with the reason, naming the version', () => {
    assert.equal(
      quoted('2.20.9').nixMessage,
      "unable to start any build; either increase '--max-jobs' or enable remote builds.",
    );
    assert.equal(
      quoted('2.21.0').nixMessage,
      "Unable to start any build; either increase '--max-jobs' or enable remote builds.",
    );
    assert.equal(
      quoted('2.33.6').nixMessage,
      "Unable to start any build; either increase '--max-jobs' or enable remote builds.",
    );
    const p = quoted('2.34.0');
    assert.equal(p.nixMessage, "Cannot build '…'. Reason: local builds are disabled (max-jobs = 0)");
    assert.match(p.message, /Nix 2\.34/);
  });

  test('nixPrinted finds each quote in what that version prints (2.26 indents it over lines, 2.34 names the derivation)', () => {
    const printed26 =
      "error:\n                               Unable to start any build;\n                               either increase '--max-jobs' or enable remote builds.\n\n       For more information run 'man nix.conf' and search for '/machines'.\n";
    const printed34 =
      "error: Cannot build '/nix/store/vc4a-x.drv'.\n       Reason: \x1b[31;1mlocal builds are disabled\x1b[0m (max-jobs = 0)\n       Hint: set 'max-jobs' …\n";
    assert.ok(nixPrinted(`error: ${quoted('2.26.3').nixMessage!}`, printed26));
    assert.ok(nixPrinted(`error: ${quoted('2.34.8').nixMessage!}`, printed34));
    assert.ok(!nixPrinted(`error: ${quoted('2.8.0').nixMessage!}`, printed26), 'case matters');
    assert.ok(!nixPrinted(`error: ${quoted('2.34.8').nixMessage!}`, printed26));
  });
});

describe('what the build reads, in every version’s words', () => {
  test('no machine could take the derivation: 2.8, 2.21, the build hook, 2.30, 2.34', () => {
    for (const line of [
      "error: unable to start any build; either increase '--max-jobs' or enable remote builds.",
      'error: unable to start any build; remote machines may not have all required system features.',
      '                    Unable to start any build;',
      'Failed to find a machine for remote build!',
      'Reason: required system or feature not available',
      'Reason: \x1b[31;1mplatform mismatch\x1b[0m'.replace(/\x1b\[[0-9;]*m/g, ''),
      'Reason: missing system features',
      'Reason: local builds are disabled (max-jobs = 0)',
    ]) {
      assert.ok(noMachineWords.test(line), line);
    }
    assert.ok(!noMachineWords.test("builder for '/nix/store/x.drv' failed with exit code 1"));
  });

  test("a builder that cannot build the derivation: 2.8's `is required to build`, 2.30's and 2.34's Reason", () => {
    const old =
      "error: a 'aarch64-linux' with features {} is required to build '/nix/store/x.drv', but I am a 'x86_64-linux' with features {}";
    const v230 =
      "error: Cannot build '/nix/store/x.drv'.\nReason: required system or feature not available\nRequired system: 'aarch64-linux' with features {}";
    const v234 =
      "error: Cannot build '/nix/store/x.drv'.\n       Reason: platform mismatch\n       Required system: 'aarch64-linux'";
    for (const text of [old, v230, v234]) assert.ok(cannotBuildHereWords.test(text), text);
    assert.equal(cannotBuildReason(old), undefined);
    assert.equal(cannotBuildReason(v230), 'required system or feature not available');
    assert.equal(cannotBuildReason(v234), 'platform mismatch');
    assert.ok(
      !cannotBuildHereWords.test(
        "error: Cannot build '/nix/store/x.drv'.\nReason: local builds are disabled (max-jobs = 0)",
      ),
    );
  });
});

describe("a distributed build's failure read in every version's words (distributed.ts explain)", () => {
  test('2.8, 2.26 (over indented lines) and 2.34 (`Cannot build` + Reason) all say no builder took the derivation', () => {
    const v28 = explain(
      ["unable to start any build; either increase '--max-jobs' or enable remote builds."],
      [],
      1,
      null,
    );
    const v226 = explain(
      [
        "\n                    Unable to start any build;\n                    either increase '--max-jobs' or enable remote builds.\n\n                    For more information run 'man nix.conf' and search for '/machines'.\n                    ",
      ],
      [],
      1,
      null,
    );
    const v234 = explain(
      [
        "Cannot build '/nix/store/x.drv'.\nReason: \x1b[31;1mlocal builds are disabled\x1b[0m (max-jobs = 0)\nHint: set 'max-jobs' to a non-zero value",
      ],
      [],
      1,
      null,
    );
    assert.equal(
      v28,
      "Nix could not hand a derivation to any builder (it says: unable to start any build; either increase '--max-jobs' or enable remote builds.). No builder has the system and features a derivation needs, or none could be reached.",
    );
    assert.equal(
      v226,
      "Nix could not hand a derivation to any builder (it says: Unable to start any build; either increase '--max-jobs' or enable remote builds.). No builder has the system and features a derivation needs, or none could be reached.",
    );
    assert.match(
      v234,
      /^Nix could not hand a derivation to any builder \(it says: Cannot build '\/nix\/store\/x\.drv'\. Reason: .*local builds are disabled/,
    );
    const platform = explain(
      ["Cannot build '/nix/store/x.drv'.\nReason: platform mismatch\nRequired system: 'aarch64-linux'"],
      ["cannot build on 'ssh://b': error: failed to start SSH connection to 'b'"],
      1,
      null,
    );
    assert.match(
      platform,
      /it says: Cannot build '\/nix\/store\/x\.drv'\. Reason: platform mismatch\)\. The builders said: cannot build on 'ssh:\/\/b'/,
    );
  });
});
