// known_hosts lookups and host key decisions. Real `ssh-keygen -F` is the oracle for which lines
// match a name (patterns, negation, [host]:port, markers), and real `ssh-keygen -H` makes the
// hashed lines our HMAC-SHA1 lookup must find.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fingerprintOf } from '../../server/src/model/hostKey';
import { checkHostKey, hostKeyPolicy, preferredHostKeyAlgorithms } from '../../server/src/ssh/hostKeyCheck';
import {
  hashHostName,
  hostFieldMatches,
  knownHostsFor,
  parseKnownHosts,
  type KnownHostEntry,
} from '../../server/src/ssh/knownHosts';
import { parseNixSshOpts } from '../../server/src/ssh/nixSshOpts';
import type { ResolvedHost } from '../../server/src/ssh/sshConfig';
import { makeRng, seedFrom } from '../helpers/prng';
import { hasCommand, skipWithout } from '../helpers/realTools';

const noKeygen = skipWithout(hasCommand('ssh-keygen', ['-?']), 'ssh-keygen', 'openssh-client');
const hasKeygen = noKeygen === false;
let dir: string;
const keys: Array<{ line: string; blob: Buffer }> = [];

before(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'nixrb-kh-'));
  if (!hasKeygen) return;
  for (const [index, type] of ['ed25519', 'ed25519', 'ecdsa'].entries()) {
    const file = path.join(dir, `key${index}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', file]);
    const line = fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    keys.push({ line, blob: Buffer.from(line.split(' ')[1]!, 'base64') });
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Line numbers `ssh-keygen -F name -f file` reports. */
function keygenMatches(file: string, name: string): number[] {
  const result = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...result.stdout.matchAll(/found: line (\d+)/g)].map((match) => Number(match[1]));
}

const ours = (file: string, name: string) =>
  knownHostsFor(name, parseKnownHosts(fs.readFileSync(file, 'utf8'), file)).map((entry) => entry.line);

describe('known_hosts matching, against ssh-keygen -F', { skip: noKeygen }, () => {
  test('generated pattern lines: *, ?, !negation, [host]:port, @revoked, @cert-authority, junk', () => {
    const seed = seedFrom('KNOWN_HOSTS_SEED');
    const rng = makeRng(seed);
    const atoms = [
      'alpha',
      '10.0.0.1',
      '*.example',
      '!bad.example',
      '[alpha]:2222',
      'b?ta',
      '*',
      '[*.lan]:2200',
      'node-*',
      '!node-9',
      'Mixed.Case',
      '[10.0.0.1]:22',
    ];
    const names = [
      'alpha',
      '10.0.0.1',
      'x.example',
      'bad.example',
      '[alpha]:2222',
      'beta',
      'node-1',
      'node-9',
      '[b.lan]:2200',
      'mixed.case',
      'zzz',
      '[10.0.0.1]:22',
    ];
    for (let round = 0; round < 20; round++) {
      const lines: string[] = [];
      for (let i = 0; i < 8; i++) {
        const roll = rng.int(10);
        if (roll === 0) lines.push('# a comment');
        else if (roll === 1) lines.push('not a valid line');
        else if (roll === 2) lines.push('');
        else {
          const marker = rng.chance(0.15) ? '@revoked ' : rng.chance(0.15) ? '@cert-authority ' : '';
          const field = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(atoms)).join(',');
          lines.push(`${marker}${field} ${rng.pick(keys).line}`);
        }
      }
      const file = path.join(dir, `kh-${round}`);
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      for (const name of names) {
        assert.deepEqual(
          ours(file, name),
          keygenMatches(file, name),
          `seed ${seed} round ${round} name ${name}\n${lines.join('\n')}`,
        );
      }
    }
  });

  test('hashed lines written by real ssh-keygen -H are found by name (HMAC-SHA1 of the name)', () => {
    const file = path.join(dir, 'hashed');
    const names = ['alpha', '10.0.0.1', '[alpha]:2222', 'nix-healthy'];
    fs.writeFileSync(file, names.map((name, i) => `${name} ${keys[i % keys.length]!.line}`).join('\n') + '\n');
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(
      text
        .split('\n')
        .filter(Boolean)
        .every((line) => line.startsWith('|1|')),
      text,
    );
    const entries = parseKnownHosts(text, file);
    for (const [i, name] of names.entries()) {
      const found = knownHostsFor(name, entries);
      assert.equal(found.length, 1, name);
      assert.ok(found[0]!.key.equals(keys[i % keys.length]!.blob), name);
      assert.deepEqual(
        found.map((entry) => entry.line),
        keygenMatches(file, name),
      );
    }
    assert.deepEqual(knownHostsFor('other', entries), []);
  });

  test('our hashing matches ssh-keygen: a line hashed by us is found by ssh-keygen -F', () => {
    const salt = Buffer.from('0123456789abcdefghij');
    const file = path.join(dir, 'ours-hashed');
    fs.writeFileSync(file, `${hashHostName('[builder]:2222', salt)} ${keys[0]!.line}\n`);
    assert.deepEqual(keygenMatches(file, '[builder]:2222'), [1]);
    assert.deepEqual(keygenMatches(file, 'builder'), []);
  });
});

describe('host key decisions', () => {
  const host = (overrides: Partial<ResolvedHost> = {}): ResolvedHost => ({
    alias: 'nix-b',
    hostName: '10.1.2.3',
    port: 22,
    user: 'nix',
    identityFiles: [],
    droppedIdentityFiles: [],
    identitiesOnly: false,
    proxyJump: [],
    proxyCommand: undefined,
    connectTimeoutMs: undefined,
    userKnownHostsFiles: ['/u/known_hosts'],
    globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts'],
    hostKeyAlias: 'nix-b',
    strictHostKeyChecking: 'yes',
    batchMode: true,
    hostKeyAlgorithms: undefined,
    commandLine: parseNixSshOpts(''),
    source: 'ssh -G',
    notes: [],
    ...overrides,
  });
  const files =
    (contents: Record<string, string>) =>
    (file: string): KnownHostEntry[] =>
      parseKnownHosts(contents[file] ?? '', file);
  const col8 = (line: string) => Buffer.from(`${line} root@builder\n`).toString('base64');

  test('column 8 matches: verified by column 8, the user known_hosts is not read', { skip: noKeygen }, () => {
    const [a, b] = keys;
    const policy = hostKeyPolicy(host(), 'nix-b', col8(a!.line));
    assert.deepEqual(policy.userFiles, []);
    const verdict = checkHostKey(a!.blob, policy, files({ '/u/known_hosts': `nix-b ${b!.line}\n` }));
    assert.equal(verdict.kind, 'verified');
    assert.deepEqual(verdict.kind === 'verified' && verdict.source, { kind: 'column-8' });
  });

  test('column 8 of the same type but another key: mismatch, fatal', { skip: noKeygen }, () => {
    const [a, b] = keys;
    const verdict = checkHostKey(b!.blob, hostKeyPolicy(host(), 'nix-b', col8(a!.line)), files({}));
    assert.equal(verdict.kind, 'mismatch');
    assert.equal(verdict.kind === 'mismatch' && verdict.expected.fingerprint, fingerprintOf(a!.blob));
  });

  test(
    'column 8 written under the alias is not found when ssh looks up the HostName (no HostKeyAlias)',
    { skip: noKeygen },
    () => {
      const [a] = keys;
      const verdict = checkHostKey(
        a!.blob,
        hostKeyPolicy(host({ hostKeyAlias: undefined }), 'nix-b', col8(a!.line)),
        files({}),
      );
      assert.equal(verdict.kind, 'unknown');
      assert.equal(verdict.kind === 'unknown' && verdict.column8NameMismatch, true);
      assert.equal(verdict.kind === 'unknown' && verdict.lookupName, '10.1.2.3');
    },
  );

  test('UserKnownHostsFile in NIX_SSHOPTS wins over column 8 (ssh keeps the first value)', { skip: noKeygen }, () => {
    const [a, b] = keys;
    const resolved = host({ commandLine: parseNixSshOpts('-o UserKnownHostsFile=/u/known_hosts') });
    const policy = hostKeyPolicy(resolved, 'nix-b', col8(a!.line));
    assert.match(policy.column8?.ignoredBecause ?? '', /NIX_SSHOPTS/);
    assert.equal(checkHostKey(a!.blob, policy, files({ '/u/known_hosts': `nix-b ${b!.line}\n` })).kind, 'mismatch');
  });

  test('no column 8: user then global known_hosts; [host]:port without HostKeyAlias', { skip: noKeygen }, () => {
    const [a] = keys;
    const resolved = host({ hostKeyAlias: undefined, port: 2222 });
    const policy = hostKeyPolicy(resolved, 'nix-b', undefined);
    assert.equal(policy.lookupName, '[10.1.2.3]:2222');
    const verdict = checkHostKey(
      a!.blob,
      policy,
      files({ '/etc/ssh/ssh_known_hosts': `# global\n[10.1.2.3]:2222 ${a!.line}\n` }),
    );
    assert.deepEqual(verdict.kind === 'verified' && verdict.source, {
      kind: 'known-hosts',
      file: '/etc/ssh/ssh_known_hosts',
      line: 2,
    });
  });

  test('a key of another type is unknown, not a mismatch; the known type is offered first', { skip: noKeygen }, () => {
    const [a, , ecdsa] = keys;
    const policy = hostKeyPolicy(host(), 'nix-b', undefined);
    const read = files({ '/u/known_hosts': `nix-b ${ecdsa!.line}\n` });
    const verdict = checkHostKey(a!.blob, policy, read);
    assert.equal(verdict.kind, 'unknown');
    assert.deepEqual(verdict.kind === 'unknown' && verdict.otherTypes, [ecdsa!.line.split(' ')[0]]);
    assert.equal(preferredHostKeyAlgorithms(policy, read)[0], ecdsa!.line.split(' ')[0]);
  });

  test(
    '@revoked wins over a matching entry; @cert-authority alone is unknown, and nothing crashes',
    { skip: noKeygen },
    () => {
      const [a, b] = keys;
      const policy = hostKeyPolicy(host(), 'nix-b', undefined);
      assert.equal(
        checkHostKey(a!.blob, policy, files({ '/u/known_hosts': `nix-b ${a!.line}\n@revoked * ${a!.line}\n` })).kind,
        'revoked',
      );
      const ca = checkHostKey(a!.blob, policy, files({ '/u/known_hosts': `@cert-authority * ${b!.line}\n` }));
      assert.equal(ca.kind === 'unknown' && ca.certAuthorityOnly, true);
    },
  );

  test('hashed entries, negation and case in host fields', () => {
    const salt = Buffer.alloc(20, 7);
    assert.ok(hostFieldMatches(hashHostName('nix-b', salt), 'nix-b'));
    assert.ok(!hostFieldMatches(hashHostName('nix-b', salt), 'nix-c'));
    assert.ok(hostFieldMatches('*.lan,!bad.lan', 'good.lan'));
    assert.ok(!hostFieldMatches('*.lan,!bad.lan', 'bad.lan'));
    assert.ok(hostFieldMatches('Builder', 'builder'));
  });

  test('a verdict names the presented key the way ssh-keygen prints it', { skip: noKeygen }, () => {
    const [a] = keys;
    const verdict = checkHostKey(a!.blob, hostKeyPolicy(host(), 'nix-b', undefined), files({}));
    const printed = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'key0.pub')], { encoding: 'utf8' });
    assert.ok(printed.includes(verdict.key.fingerprint), printed);
    assert.equal(Buffer.from(verdict.key.column8, 'base64').toString(), a!.line);
  });
});
