// A plain line (model/plainLine.ts) is kept without being read: the parse says nothing about it,
// the lints only what its SSH key file holds, and the duplicates check sees its store URI. That
// must be exactly what the full rule (machines.ts' readLine, lint's lintMachine) gives, for every
// line the fast path takes, on every rule set of the version table. The lines are generated
// from values at the edges of each condition (a wrong bound, a forgotten character, a column
// not looked at: each makes a line taken that the full rule says something about).
// Replay a failure with PLAIN_SEED=<seed> (printed when it fails).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBuilders, readLine } from '../../server/src/model/machines';
import { plainEntry, plainMachine, plainStoreUri, storeUriHash } from '../../server/src/model/plainLine';
import { lintMachine, lintPlainMachine, type LintContext } from '../../server/src/model/lint/index';
import { keyInspector } from '../../server/src/model/lint/sshKey';
import { nix2_8, rulesFor, versionRuleTable, type NixVersion } from '../../server/src/model/nixVersion';
import { makeRng, seedFrom } from '../helpers/prng';
import { analyze, analyzeInSteps, lineMemo } from '../../server/src/language/analysis';
import { nixTarget } from '../../server/src/context/target';

const key =
  'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUpTMk9ja01YUjJvSW9TNWh6YzQ5N2hQY1hJV2ZjeEpNOVJYdWxQTkZxWVUgcm9vdEBidWlsZGVyCg==';
const blob = 'AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU';

/** Every rule set the table makes: Nix 2.8 and each version a row starts at. */
function ruleSets(): NixVersion[] {
  const versions = new Map<string, NixVersion>([['2.8.0', nix2_8]]);
  for (const row of Object.values(versionRuleTable)) {
    const { major, minor, patch } = row.since;
    versions.set(`${major}.${minor}.${patch}`, row.since);
  }
  return [...versions.values()];
}

test('a line the fast path keeps unread is one valid machine the full rule and the lints say nothing else about', () => {
  const seed = seedFrom('PLAIN_SEED');
  const rng = makeRng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'plain-line-'));
  const privateKey = join(dir, 'id_ed25519');
  writeFileSync(
    privateKey,
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
  );
  chmodSync(privateKey, 0o600);
  const openKey = join(dir, 'open_key');
  writeFileSync(
    openKey,
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
  );
  chmodSync(openKey, 0o644);
  const names = [
    'nix',
    'b',
    'builder-1.example.org',
    '_x',
    'a.b',
    'x_y',
    '1',
    '-h',
    '.h',
    'h-',
    'a:1',
    'h%20',
    'ü',
    'a~b',
    '',
  ];
  const storeUris = [
    ...names.flatMap((name) => [`ssh://${name}`, `ssh-ng://${name}`, name, `${name}@builder`, `ssh://nix@${name}`]),
    'auto',
    'daemon',
    'local',
    'auto?x',
    '-',
    'ssh://',
    'ssh://@',
    'ssh://a@b@c',
    'ssh://nix@host:22',
    'ssh://[::1]',
    'ssh://h?remote-program=$(x)',
    'ssh://h/',
    'ssh:/h',
    'SSH://h',
    'ssh-ng:h',
    'mounted-ssh-ng://h',
    'https://cache',
    'unix:///s',
    '/nix/store',
    '@file',
    'nix@host?ssh-key=/k',
  ];
  const systems = [
    'x86_64-linux',
    'x86_64-linux,aarch64-linux',
    'x86_64-linux,x86_64-linux',
    'aarch64-linux,x86_64-linux',
    'x86_64-linux,',
    ',x86_64-linux',
    'x86_64-lnux',
    'builtin',
    'kvm',
    '4',
    '/k',
  ];
  const sshKeys = ['/nonexistent/key', privateKey, openKey, dir, '~/.ssh/id', 'k', 'kvm', '4', './k', '/'];
  const numbers = [
    '1',
    '4',
    '16',
    '999999999',
    '1000000000',
    '0',
    '00',
    '01',
    '+3',
    '1.5',
    '.5',
    'x',
    '4294967296',
    '-1',
  ];
  const features = [
    'kvm',
    'big-parallel,kvm',
    'kvm,kvm',
    'kvm,',
    'big_parallel',
    'gccarch-x',
    'mine',
    'x86_64-linux',
    '4',
    '/k',
  ];
  // Node's decoder skips what is not base64 (`!`, `.`), where Nix refuses the whole list.
  const hostKeys = [
    key,
    blob,
    'QUFB',
    'QUFB!',
    key.replace('==', '=!'),
    `${key.slice(0, 20)}!${key.slice(20)}`,
    `${key.slice(0, -2)}.`,
    key.slice(0, 40),
    Buffer.from(`builder ${'ssh-ed25519'} ${blob}\n`).toString('base64'),
  ];
  const value = (column: number): string => {
    if (rng.chance(0.3)) return '-';
    switch (column) {
      case 1:
        return rng.pick(systems);
      case 2:
        return rng.pick(sshKeys);
      case 3:
      case 4:
        return rng.pick(numbers);
      case 5:
      case 6:
        return rng.pick(rng.chance(0.8) ? features.slice(0, 3) : features);
      default:
        return rng.pick(hostKeys);
    }
  };
  const lines: string[] = [];
  for (let i = 0; i < 6_000; i++) {
    const columns = [rng.pick(storeUris)];
    for (let n = rng.int(10), column = 1; n > 0; n--, column++) columns.push(value(column));
    let line = columns.join(rng.pick([' ', ' ', '  ', '\t', ' \r']));
    if (rng.chance(0.1)) line = ` ${line}`;
    if (rng.chance(0.1)) line = `${line}\r`;
    if (rng.chance(0.05))
      line = `${line.slice(0, rng.int(line.length))}${rng.pick([';', '#', ' ;', '@'])}${line.slice(rng.int(line.length))}`;
    lines.push(line);
  }
  let taken = 0;
  let line = '';
  try {
    for (const version of ruleSets()) {
      const rules = rulesFor(version);
      for (const daemon of [false, true]) {
        const context: LintContext = { version, rules, keyHome: '/home/user', daemon };
        const inspect = keyInspector(context);
        for (line of lines) {
          const plain = plainMachine(line);
          if (plain === undefined) continue;
          taken++;
          const entries = readLine(line, rules, 'x86_64-linux');
          assert.deepStrictEqual([plainEntry(line, plain, rules, 'x86_64-linux')], entries, 'the entry as read');
          assert.deepStrictEqual([plainEntry(line, plain, rules, undefined)], readLine(line, rules, undefined));
          // Made where the line is: as a whole file's parse reads it there.
          const placed = parseBuilders(`#${'-'.repeat(998)}\n${line}`, rules);
          assert.deepStrictEqual(
            plainEntry(line, plain, rules, undefined, 1000),
            { entry: placed.entries.at(-1), machine: placed.machines[0], problems: [] },
            'made where the line is',
          );
          assert.ok(entries !== undefined && entries.length === 1, 'one entry');
          const [{ entry, machine, problems }] = entries as [(typeof entries)[number]];
          assert.equal(entry.kind, 'machine');
          assert.deepEqual(problems, [], 'the parser says nothing');
          assert.ok(machine !== undefined && machine.valid, 'a valid machine');
          assert.equal(plainStoreUri(line, plain), machine.storeUri);
          assert.equal(plain.uriHash, storeUriHash(machine.storeUri), 'the hash of the store URI');
          const key = machine.columns.sshKey;
          assert.deepEqual(
            plain.keyStart < 0 ? undefined : { start: plain.keyStart, end: plain.keyEnd },
            key?.isSet ? key.span : undefined,
          );
          assert.deepEqual(
            lintPlainMachine(line, plain, context, inspect),
            lintMachine(machine, context, inspect),
            'the lints say the same',
          );
        }
      }
    }
  } catch (error) {
    console.error(`PLAIN_SEED=${seed} (${JSON.stringify(line)})`);
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Not vacuous: many lines are taken, and many are left to the full rule.
  const perRuleSet = taken / (ruleSets().length * 2);
  assert.ok(perRuleSet > 300, `${perRuleSet} plain lines of ${lines.length}`);
  assert.ok(perRuleSet < lines.length / 2, `${perRuleSet} plain lines of ${lines.length}`);
});

test('the lines of the common shapes are plain', () => {
  for (const line of [
    `ssh://nix@builder-1.example.org x86_64-linux - 2 2 kvm,nixos-test - ${key}`,
    `ssh-ng://nix@b aarch64-linux,x86_64-linux /root/.ssh/id_builder 8 1 big-parallel`,
    'builder x86_64-linux',
    'nix@builder\tx86_64-linux - 4\r',
  ])
    assert.ok(plainMachine(line) !== undefined, line);
  assert.equal(plainStoreUri('builder x86_64-linux', plainMachine('builder x86_64-linux')!), 'ssh://builder');
});

test('the same builder twice is found among plain and other lines, whichever way its store URI is written', async () => {
  // Plain, bare (`ssh://` put in front), with a warning (not plain), in a `;` entry, and Nix's rejected one (no duplicate).
  const text = [
    'nix@b x86_64-linux',
    'ssh://nix@b aarch64-linux',
    'ssh://nix@b x86_64-lnux',
    'ssh://c - ; nix@b - - 2',
    'ssh://nix@b - - x',
    'ssh://c',
    'ssh://nix@b2',
  ].join('\n');
  const here = { version: undefined, versionText: undefined, system: 'x86_64-linux', daemon: false, keyHome: '/h' };
  for (const version of ['2.8', '2.26.3', '2.34.8']) {
    const target = nixTarget(version, here);
    const withMemo = await analyzeInSteps(text, 'nix-machines', undefined, target, async () => {}, lineMemo());
    assert.deepEqual(withMemo.problems, analyze(text, 'nix-machines', undefined, target).problems, version);
    const duplicates = withMemo.problems.filter((p) => p.code === 'duplicate-machine');
    assert.deepEqual(
      duplicates.map((p) => text.slice(p.span.start, p.span.end)),
      ['ssh://nix@b', 'ssh://nix@b', 'nix@b', 'ssh://c'],
      version,
    );
  }
});
