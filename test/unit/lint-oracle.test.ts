// Real Nix backs every warning: each text we only warn about is accepted by the installed Nix
// (so it must not be an error), mostly without a word from Nix (so the warning is news to the
// user); the Nix messages our warnings and value errors quote are the ones it prints. Run
// against the machine's Nix (2.8) and every Nix of the version lab (2.26.3, 2.34.8), each with
// the rules of its version: what a version rejects when it reads the list is checked as our
// parser's error instead, and what only some versions warn about is checked there.
// Without Nix: fails in CI (CI=true), skipped loudly elsewhere.

import { caseDirs } from '../helpers/caseDirs';
import { requireLabNixes, requireRealNix } from '../helpers/requireNix';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { parseNixVersion, rulesFor, type VersionRules } from '../../server/src/model/nixVersion';
import { nixPrinted } from '../helpers/nixOutput';
import type { ProblemCode } from '../../server/src/model/problem';
import { lintBuilders, lintNixConf, type LintContext } from '../../server/src/model/lint/index';
import {
  asNixPrintsError,
  askNixPrinted,
  machineRow,
  readFileLikeNix,
  type InstalledNix,
  type OracleAnswer,
} from '../helpers/nix';

// The machine's own Nix (2.8 on Debian 12) and the version lab's (2.26, 2.34), each with its own rules.
const nix = requireRealNix('real Nix accepts what we only warn about');
if (nix !== undefined) describeLintOracle(nix);
for (const labNix of requireLabNixes('real Nix accepts what we only warn about')) describeLintOracle(labNix);

function describeLintOracle(nix: InstalledNix): void {
  const version = parseNixVersion(nix.versionText);
  assert.ok(version, `cannot read a version from ${nix.versionText}`);
  const rules = rulesFor(version);
  const context: LintContext = { version, rules, keyHome: os.homedir(), daemon: false };
  const caseDir = caseDirs('lint-oracle');
  const unique = () => `oracle${process.pid}x${Math.random().toString(36).slice(2, 8)}`;

  // Real keys and a real host key.
  const keys = caseDir();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', path.join(keys, 'encrypted')]);
  const rawHostKey = fs.readFileSync(path.join(keys, 'host.pub'), 'utf8').split(' ')[1]!;

  test(`${nix.versionText} accepts, without a word, every builders text we only warn about`, async () => {
    // A third column names the rule from which Nix rejects the text when it reads the machines
    // (our parser's error, with Nix's message): there, no warning may say Nix takes it.
    const cases: [string, ProblemCode, (keyof VersionRules)?][] = [
      ['a x86-64-linux', 'unknown-system'],
      ['a x86_64-linux - 0', 'max-jobs-zero'],
      ['a x86_64-linux - 1 0', 'speed-factor-zero'],
      [`a x86_64-linux - 1 1 - - ${rawHostKey}`, 'host-key-raw'],
      ['a x86_64-linux - 1 1 - - QUFB', 'host-key-not-a-key'],
      [
        `a x86_64-linux - 1 1 - - ${Buffer.from(`a ssh-ed25519 ${rawHostKey}`).toString('base64')}`,
        'host-key-with-host',
      ],
      ['a x86_64-linux 4 1', 'column-missing'],
      [`a x86_64-linux - 4 1 kvm ${Buffer.from(`ssh-ed25519 ${rawHostKey}`).toString('base64')}`, 'column-missing'],
      ['a x86_64-linux - 1 1 - - - root@builder note', 'extra-columns'],
      ['a x86_64-linux\n@/nonexistent/lint-oracle/machines', 'include-missing'],
      [`a x86_64-linux ${path.join(keys, 'missing')}`, 'ssh-key-missing'],
      [`a x86_64-linux ${keys}`, 'ssh-key-unreadable'],
      [`a x86_64-linux ${path.join(keys, 'encrypted')}`, 'ssh-key-encrypted'],
      [`a x86_64-linux ${path.join(keys, 'host.pub')}`, 'ssh-key-not-private'],
      ['b x86_64-linux - 2\nssh://b aarch64-linux - 4', 'duplicate-machine'],
      ['ssh://-V x86_64-linux', 'host-starts-with-dash'],
      ['-oProxyCommand=true x86_64-linux', 'host-starts-with-dash'],
      ['ssh://nix@-V x86_64-linux', 'host-starts-with-dash'],
      ['http://cache.example x86_64-linux', 'store-uri-unusable'],
      ['local x86_64-linux', 'store-uri-unusable'],
      ['shh://builder x86_64-linux', 'store-uri-unusable'],
      ['nix@builder?ssh-key=/root/.ssh/k x86_64-linux', 'store-uri-unusable', 'storeUriParsedWithMachine'],
      ['ssh:// x86_64-linux', 'store-uri-unusable'],
      ['ssh://@b x86_64-linux', 'store-uri-unusable'],
      ['ssh://b?remote-program=$(true)nix-store x86_64-linux', 'shell-in-store-setting'],
      ['ssh-ng://b?remote-program=sh%20-c%20%27true%27 x86_64-linux', 'shell-in-store-setting'],
      ['b?remote-program=nix-store%0atrue x86_64-linux', 'shell-in-store-setting'],
      ['ssh://b?remote-store=`true` x86_64-linux', 'shell-in-store-setting', 'storeUriParsedWithMachine'],
      ['a x86_64-linux - 1 1 - kvm', 'mandatory-without-need'],
      ['a x86_64-linux - 1 1 big_parallel', 'unknown-feature'],
      ...(rules.portInUri ? [] : ([['nix@builder:2222 x86_64-linux', 'port-in-uri']] as [string, ProblemCode][])),
      ...(rules.speedFactorIsFloat
        ? ([['a x86_64-linux - 1 1.5', 'speed-factor-fraction']] as [string, ProblemCode][])
        : []),
      ...(rules.sshKeyMustBeAbsolute
        ? ([
            ['a x86_64-linux relative/key', 'ssh-key-relative'],
            ['a x86_64-linux ~/.ssh/key', 'ssh-key-relative'],
          ] as [string, ProblemCode][])
        : []),
    ];
    const failures: string[] = [];
    await forEachLimited(cases, 2, async ([text, code, rejectedFrom], slot) => {
      const dir = caseDir();
      const parsed = parseBuilders(text, rules, { readFile: readFileLikeNix(dir), localSystem: nix.system });
      const ours = parsed.problems.find((p) => p.severity === 'error');
      const lint = lintBuilders(parsed, context).map((p) => p.code);
      const theirs = await askNixPrinted({ builders: text }, dir, slot, nix);
      if (rejectedFrom !== undefined && rules[rejectedFrom]) {
        if (ours === undefined)
          failures.push(`${JSON.stringify(text)}: our parser takes it, Nix ${JSON.stringify(theirs.answer)}`);
        else if (!isDeepStrictEqual(theirs.answer, { accepted: false, error: asNixPrintsError(ours) }))
          failures.push(`${JSON.stringify(text)}: Nix ${JSON.stringify(theirs.answer)}, ours ${ours.nixMessage}`);
        if (lint.includes(code)) failures.push(`${JSON.stringify(text)}: ${code} although Nix rejects it`);
        return;
      }
      const rows: OracleAnswer = { accepted: true, rows: parsed.machines.map(machineRow) };
      if (ours !== undefined) failures.push(`${JSON.stringify(text)}: our parser rejects it (${ours.code})`);
      if (!lint.includes(code)) failures.push(`${JSON.stringify(text)}: no ${code} (got ${lint.join(', ')})`);
      if (!isDeepStrictEqual(theirs.answer, rows))
        failures.push(`${JSON.stringify(text)}: Nix ${JSON.stringify(theirs.answer)}, ours ${JSON.stringify(rows)}`);
      if (theirs.warnings.length > 0)
        failures.push(`${JSON.stringify(text)}: Nix warned: ${theirs.warnings.join(' | ')}`);
    });
    assert.deepEqual(failures, []);
  });

  test(`when it connects, ${nix.versionText} refuses hosts with the messages our warnings quote`, async () => {
    const id = unique();
    // [store URI, the columns after column 2]
    const machines: [string, string][] = [
      [`ssh://-${id}`, ''],
      [`ssh://nix@-${id}`, ''],
      [`ssh://?${id}=1`, ''],
      [`ssh-ng://?${id}=1`, ''],
      [`mounted-ssh-ng://-${id}`, ''],
      [`shh://${id}`, ''],
      [`nix@${id}?ssh-key=/k`, ''],
      ...(rules.sshAuthorityChecked
        ? ([
            [`ssh://nix@?${id}=1`, ''],
            [`ssh://-${id}@${id}`, ''],
            [`ssh://@${id}`, ''],
          ] as [string, string][])
        : []),
      ...(rules.sshKeyMustBeAbsolute
        ? ([
            [`ssh://${id}`, ' relative/key'],
            [`ssh://${id}`, ' ~/.ssh/key'],
          ] as [string, string][])
        : []),
    ];
    const failures: string[] = [];
    await forEachLimited(machines, 2, async ([uri, more], slot) => {
      const text = `${uri} ${nix.system}${more}`;
      const parsed = parseBuilders(text, rules, { localSystem: nix.system });
      const warnings = lintBuilders(parsed, context);
      const warning = warnings.find((p) => p.nixMessage !== undefined);
      const theirs = await askNixPrinted({ builders: text, system: nix.system }, caseDir(), slot, nix);
      const refused = parsed.problems.find((p) => p.severity === 'error');
      if (refused !== undefined) {
        // Rejected when read (2.23+: not a URL): Nix says our parser's words, and no warning claims it connects.
        if (!theirs.output.includes(`error: ${refused.nixMessage}`))
          failures.push(`${uri}: expected "error: ${refused.nixMessage}" in:\n${theirs.output}`);
        if (warnings.length > 0)
          failures.push(`${uri}: warned ${warnings.map((w) => w.code).join(', ')} although Nix rejects it`);
        return;
      }
      if (warning === undefined) return void failures.push(`${uri}: no warning with a Nix message`);
      const line = `cannot build on '${parsed.machines[0]!.storeUri}': error: ${warning.nixMessage}`;
      if (!theirs.output.includes(line)) failures.push(`${uri}: expected "${line}" in:\n${theirs.output}`);
    });
    assert.deepEqual(failures, []);
  });

  test(`a port in the URI reaches ssh on ${nix.versionText} exactly when we do not warn (port-in-uri)`, async () => {
    const id = unique();
    const failures: string[] = [];
    await forEachLimited([`ssh://${id}:2222`, `nix@${id}:2222`], 2, async (uri, slot) => {
      const text = `${uri} ${nix.system}`;
      const warning = lintBuilders(parseBuilders(text, rules, { localSystem: nix.system }), context).find(
        (p) => p.code === 'port-in-uri',
      );
      const theirs = await askNixPrinted({ builders: text, system: nix.system }, caseDir(), slot, nix);
      const line =
        theirs.output.split('\n').find((l) => l.startsWith(`cannot build on '`)) ??
        `(no "cannot build on" in:\n${theirs.output})`;
      if (rules.portInUri) {
        // From 2.31 ssh gets the host alone (and the port as -p): Nix names the host without it.
        if (warning !== undefined) failures.push(`${uri}: port-in-uri although the port reaches ssh`);
        if (!line.includes(`SSH connection to '${id}'`))
          failures.push(`${uri}: expected the host without its port in: ${line}`);
      } else {
        if (warning === undefined) return void failures.push(`${uri}: no port-in-uri`);
        // Our warning quotes what ssh says about the host name with the port in it.
        const quoted = /\("(Could not resolve hostname [^"]+)"\)/.exec(warning.message)?.[1];
        if (quoted === undefined || !line.includes(`ssh: ${quoted}`))
          failures.push(`${uri}: expected "ssh: ${quoted}" in: ${line}`);
      }
    });
    assert.deepEqual(failures, []);
  });

  test(`${nix.versionText} warns "unknown setting" exactly where we do, in our words`, async () => {
    const cases = [
      'buidlers = a',
      'extra-max-jobs = 3',
      'extra-substituter = https://a',
      'frobnicate = 1',
      'use-xdg-base-directories = true',
    ];
    const quiet = [
      'extra-trusted-users = nix',
      'extra-system-features = kvm',
      'build-max-jobs = 2',
      'gc-keep-outputs = true',
      'extra-platforms = aarch64-linux',
    ];
    const failures: string[] = [];
    await forEachLimited([...cases, ...quiet], 2, async (conf, slot) => {
      const dir = caseDir();
      const ours = lintNixConf(parseNixConf(conf, rules, { path: path.join(dir, 'nix.conf') }), context)
        .filter((p) => p.code === 'unknown-setting')
        .map((p) => p.nixMessage);
      const theirs = await askNixPrinted({ conf }, dir, slot, nix);
      if (!theirs.answer.accepted) failures.push(`${conf}: Nix rejects it: ${theirs.answer.error}`);
      if (!isDeepStrictEqual(ours, theirs.warnings))
        failures.push(`${conf}: Nix warned ${JSON.stringify(theirs.warnings)}, we ${JSON.stringify(ours)}`);
    });
    assert.deepEqual(failures, []);
  });

  test(`${nix.versionText} rejects the values we call errors, with the message we quote, and takes the ones we accept`, async () => {
    const rejected = [
      'builders-use-substitutes = maybe',
      'builders-use-substitutes = True',
      'builders-use-substitutes =',
      'require-sigs = nope',
      'max-jobs = four',
      'max-jobs = -1',
      'max-jobs = 4294967296',
      'max-jobs = AUTO',
      'build-max-jobs = x',
      'cores = -1',
      'connect-timeout = 1.5',
      'sandbox = yes',
      'max-jobs = foo\nmax-jobs = 2',
    ];
    const accepted = [
      'builders-use-substitutes = yes',
      'builders-use-substitutes = 0',
      'max-jobs = +3',
      'max-jobs = auto',
      'cores = 4294967295',
      'connect-timeout = 18446744073709551615',
      'sandbox = relaxed',
    ];
    const failures: string[] = [];
    await forEachLimited([...rejected, ...accepted], 2, async (conf, slot) => {
      const dir = caseDir();
      const errors = lintNixConf(parseNixConf(conf, rules, { path: path.join(dir, 'nix.conf') }), context).filter(
        (p) => p.severity === 'error',
      );
      const theirs = await askNixPrinted({ conf }, dir, slot, nix);
      const ours: OracleAnswer =
        errors[0] === undefined ? { accepted: true, rows: [] } : { accepted: false, error: errors[0].nixMessage! };
      if (!isDeepStrictEqual(ours, theirs.answer))
        failures.push(`${JSON.stringify(conf)}: Nix ${JSON.stringify(theirs.answer)}, ours ${JSON.stringify(ours)}`);
    });
    assert.deepEqual(failures, []);
  });

  test(`max-jobs = 0 with an empty builders makes ${nix.versionText} fail as our warning says`, async () => {
    const conf = 'max-jobs = 0\nbuilders =\n';
    const dir = caseDir();
    const warning = lintNixConf(parseNixConf(conf, rules, { path: path.join(dir, 'nix.conf') }), context).find(
      (p) => p.code === 'nothing-can-build',
    );
    assert.ok(warning?.nixMessage);
    // max-jobs = 0 from the nix.conf alone (no -j0), and a derivation for this very system.
    const theirs = await askNixPrinted({ conf, system: nix.system, forbidLocalBuilds: false }, dir, 0, nix);
    // `…` is the derivation (2.34 names it); 2.21-2.29 lay the message out over indented lines.
    assert.ok(nixPrinted(`error: ${warning.nixMessage}`, theirs.output), theirs.output);
  });
}

/** Runs `work` over `items` with at most `limit` at a time; `slot` is which of the `limit` runs. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, slot: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (slot: number) => {
    while (next < items.length) await work(items[next++]!, slot);
  };
  await Promise.all(Array.from({ length: limit }, (_, slot) => worker(slot)));
}
