// Store settings that Nix writes into the command line it runs on the builder (remote-program,
// remote-store): a value with shell metacharacters is shell code that runs there. Nix accepts
// the text (lint-oracle.test.ts checks that), so this is a warning, on the value in column 1.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBuilders } from '../../server/src/model/machines';
import { nix2_8, rulesFor, type NixVersion } from '../../server/src/model/nixVersion';
import { problemSeverities, type Problem, type ProblemCode, type Span } from '../../server/src/model/problem';
import { lintBuilders, type LintContext } from '../../server/src/model/lint/index';
import { nixPercentDecode, settingsInRemoteShell } from '../../server/src/model/remoteShellSettings';

const contextFor = (version: NixVersion): LintContext => ({
  version,
  rules: rulesFor(version),
  keyHome: '/root',
  daemon: false,
});
const nix28 = contextFor(nix2_8);
const nix235 = contextFor({ major: 2, minor: 35, patch: 0 });
const lint = (text: string, context: LintContext = nix28) =>
  lintBuilders(parseBuilders(text, context.rules, { localSystem: 'x86_64-linux' }), context);
const at = (text: string, span: Span): string => text.slice(span.start, span.end);
const only = (problems: Problem[], code: ProblemCode): Problem[] => problems.filter((p) => p.code === code);

describe('shell code in a store setting (column 1)', () => {
  test('the code is a warning: Nix accepts the text', () => {
    assert.equal(problemSeverities['shell-in-store-setting'], 'warning');
  });

  const shapes: [string, string, string][] = [
    // [column 1, the value as written, the value Nix hands the shell]
    [
      'ssh://u@b?remote-program=$(touch${IFS}/tmp/m)nix-store',
      '$(touch${IFS}/tmp/m)nix-store',
      '$(touch${IFS}/tmp/m)nix-store',
    ],
    ['ssh://u@b?remote-program=`id`nix-store', '`id`nix-store', '`id`nix-store'],
    [
      'ssh://u@b?remote-program=sh%20-c%20%27touch%20marker%27',
      'sh%20-c%20%27touch%20marker%27',
      "sh -c 'touch marker'",
    ],
    ['ssh://u@b?remote-program=nix-store%0atouch%20/tmp/m', 'nix-store%0atouch%20/tmp/m', 'nix-store\ntouch /tmp/m'],
    ['ssh://u@b?remote-program=nix-store%3btouch%20x', 'nix-store%3btouch%20x', 'nix-store;touch x'],
    ['ssh-ng://u@b?remote-program=nix-daemon|tee', 'nix-daemon|tee', 'nix-daemon|tee'],
    ['ssh://u@b?remote-store=$(id)', '$(id)', '$(id)'],
    ['ssh-ng://b?compress=true&remote-store=%24HOME', '%24HOME', '$HOME'],
    ['b?remote-program=nix-store>x', 'nix-store>x', 'nix-store>x'],
    ['ssh://b?remote-program=nix-store%26%26true', 'nix-store%26%26true', 'nix-store&&true'],
    ['ssh://b?remote-program=nix-store*', 'nix-store*', 'nix-store*'],
    ['ssh://b?remote-program=~/bin/nix-store', '~/bin/nix-store', '~/bin/nix-store'],
    ['ssh://b?remote-store=local%3Froot%3D/mnt', 'local%3Froot%3D/mnt', 'local?root=/mnt'],
  ];
  for (const [uri, written, decoded] of shapes) {
    test(`${uri}: a warning on the value, which says it runs as shell code and that we refuse the machine`, () => {
      const text = `${uri} x86_64-linux`;
      const found = only(lint(text), 'shell-in-store-setting');
      assert.equal(found.length, 1, JSON.stringify(lint(text), null, 1));
      const p = found[0]!;
      assert.equal(p.severity, 'warning');
      assert.equal(at(text, p.span), written);
      assert.match(p.message, /shell/);
      assert.match(p.message, /runs? as shell code|run as shell code/);
      assert.match(p.message, /refuses/);
      assert.ok(
        p.message.includes(JSON.stringify(decoded)) || p.message.includes(decoded),
        `${p.message} should show ${JSON.stringify(decoded)}`,
      );
      // On newer Nix too (2.20+ splits remote-program into words and quotes nothing), unless
      // it is not a URL: from 2.23 Nix then rejects the whole list when it reads it (our
      // parser's store-uri-not-a-url), never connects, and no warning may say it runs the code.
      const newer = parseBuilders(text, nix235.rules, { localSystem: 'x86_64-linux' });
      const rejected = newer.problems.some((e) => e.code === 'store-uri-not-a-url');
      assert.equal(only(lint(text, nix235), 'shell-in-store-setting').length, rejected ? 0 : 1);
    });
  }

  test('plain programs, paths and store URIs are fine', () => {
    for (const uri of [
      'ssh://u@b?remote-program=/nix/var/nix/profiles/default/bin/nix-store',
      'ssh-ng://u@b?remote-program=/run/current-system/sw/bin/nix-daemon&remote-store=unix:///nix/var/nix/daemon-socket/socket',
      'ssh://b?ssh-key=/root/.ssh/id_ed25519&compress=true',
      'ssh://b?remote-program=nix-store%2b',
      'builder',
    ]) {
      assert.deepEqual(only(lint(`${uri} x86_64-linux`), 'shell-in-store-setting'), [], uri);
    }
  });

  test('every occurrence is reported (which one Nix keeps differs between versions)', () => {
    const text = 'ssh://b?remote-program=nix-store&remote-program=$(id) x86_64-linux';
    const found = only(lint(text), 'shell-in-store-setting');
    assert.deepEqual(
      found.map((p) => at(text, p.span)),
      ['$(id)'],
    );
  });

  test('a percent-encoded setting name counts too (newer Nix decodes names)', () => {
    const text = 'ssh://b?remote%2Dprogram=$(id) x86_64-linux';
    assert.deepEqual(
      only(lint(text), 'shell-in-store-setting').map((p) => at(text, p.span)),
      ['$(id)'],
    );
  });

  test('in an included file: shown on the include, the span in the file', () => {
    const files: Record<string, string> = { '/m': 'ssh://b?remote-program=$(id) x86_64-linux\n' };
    const parsed = parseBuilders('@/m', nix28.rules, { readFile: (p) => files[p] });
    const [p] = only(lintBuilders(parsed, nix28), 'shell-in-store-setting');
    assert.ok(p);
    assert.equal(p.file, '/m');
    assert.equal(files['/m']!.slice(p.fileSpan!.start, p.fileSpan!.end), '$(id)');
  });
});

describe('what Nix hands the shell', () => {
  test('percent-decoding as Nix 2.8 does it (std::stoul on two characters)', () => {
    assert.equal(nixPercentDecode('a%20b'), 'a b');
    assert.equal(nixPercentDecode('%0a'), '\n');
    assert.equal(nixPercentDecode('%2'), undefined); // Nix: invalid URI parameter
    assert.equal(nixPercentDecode('%zz'), undefined);
    assert.equal(nixPercentDecode('%4x'), '\u0004'); // stoul stops at 'x', and Nix skips both
  });

  test('the settings, with spans in the given text', () => {
    const text = 'ssh://b?remote-program=x%3by&other=1&remote-store=ok';
    const settings = settingsInRemoteShell(text);
    assert.deepEqual(
      settings.map((s) => ({
        name: s.name,
        value: s.value,
        at: text.slice(s.valueStart, s.valueEnd),
        unsafe: s.unsafe,
      })),
      [
        { name: 'remote-program', value: 'x;y', at: 'x%3by', unsafe: [';'] },
        { name: 'remote-store', value: 'ok', at: 'ok', unsafe: [] },
      ],
    );
  });
});
