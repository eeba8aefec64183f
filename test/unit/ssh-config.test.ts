// Resolving a builder's host as ssh does. The fallback reader of ssh_config files (for machines
// without an ssh binary) is held against real `ssh -G` on generated configs and command lines:
// whatever ssh prints, the fallback must agree on every field the probe uses.
//   SSH_CONFIG_SEED=<n> replays a run.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseSshArguments } from '../../server/src/ssh/nixSshOpts';
import { hostPatternsMatch, resolveFromConfigFiles, splitConfigLine } from '../../server/src/ssh/sshConfigFallback';
import {
  knownHostsName,
  parseSshGOutput,
  refusedDestination,
  resolveSshHost,
  toResolvedHost,
  type ResolvedHost,
} from '../../server/src/ssh/sshConfig';
import { makeRng, seedFrom, type Rng } from '../helpers/prng';
import { skipWithout } from '../helpers/realTools';

const noSsh = skipWithout(spawnSync('ssh', ['-V']).status === 0, 'ssh', 'openssh-client');
const home = homedir();
let localUser = 'root';
try {
  localUser = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
} catch {
  // keep root
}

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'nixrb-sshcfg-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The fields the probe reads, for comparison. */
function fields(host: ResolvedHost) {
  return {
    hostName: host.hostName,
    port: host.port,
    user: host.user,
    identityFiles: host.identityFiles,
    identitiesOnly: host.identitiesOnly,
    proxyJump: host.proxyJump,
    connectTimeoutMs: host.connectTimeoutMs,
    userKnownHostsFiles: host.userKnownHostsFiles,
    globalKnownHostsFiles: host.globalKnownHostsFiles,
    hostKeyAlias: host.hostKeyAlias,
    strictHostKeyChecking: host.strictHostKeyChecking,
    batchMode: host.batchMode,
    knownHostsName: knownHostsName(host),
  };
}

function viaSsh(configFile: string, args: string[], destination: string, host: string): ReturnType<typeof fields> {
  const out = execFileSync('ssh', ['-G', '-F', configFile, ...args, '--', destination], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const commandLine = parseSshArguments(args);
  return fields(
    toResolvedHost(host, parseSshGOutput(out), {
      home,
      localUser,
      commandLine,
      dropped: [],
      source: 'ssh -G',
      notes: [],
    }),
  );
}

function viaFallback(
  configFile: string,
  args: string[],
  user: string | undefined,
  host: string,
): ReturnType<typeof fields> {
  const commandLine = { ...parseSshArguments(args), configFile };
  const result = resolveFromConfigFiles({ host, user, commandLine, home, localUser });
  return fields(
    toResolvedHost(host, result.settings, {
      home,
      localUser,
      commandLine,
      dropped: [],
      source: 'config files',
      notes: result.notes,
    }),
  );
}

const hosts = ['alpha', 'beta', 'b1', 'build-x', 'gamma.example', 'Alpha', 'delta.lan'];
const patterns = [
  'alpha',
  'beta',
  'b*',
  '*.example',
  '!beta',
  '?lpha',
  '*',
  'b?',
  'build-*',
  'Alpha',
  '!*.lan',
  'delta.*',
];

function randomValue(rng: Rng, keyword: string, keyFiles: string[]): string {
  switch (keyword) {
    case 'HostName':
      return rng.pick(['10.0.0.7', '%h.lan', 'Real.Example', 'host-%h', '%%h']);
    case 'Port':
      return String(rng.pick([22, 2222, 2022, 65000]));
    case 'User':
      return rng.pick(['nix', 'builder', 'root']);
    case 'IdentityFile':
      return rng.pick(['~/.ssh/k1', '/tmp/k2', '"/tmp/with space"', '%d/.ssh/k3', ...keyFiles]);
    case 'IdentitiesOnly':
    case 'BatchMode':
      return rng.pick(['yes', 'no']);
    case 'ProxyJump':
      return rng.pick(['j1', 'u@j2:2200', 'j3,j4', 'none']);
    case 'ConnectTimeout':
      return String(rng.pick([1, 5, 30]));
    case 'UserKnownHostsFile':
      return rng.pick(['~/kh1', '/tmp/kh2 /tmp/kh3', '/dev/null']);
    case 'GlobalKnownHostsFile':
      return rng.pick(['/tmp/g1', '/dev/null']);
    case 'HostKeyAlias':
      return rng.pick(['Alias1', 'nix-alias']);
    case 'StrictHostKeyChecking':
      return rng.pick(['yes', 'no', 'ask', 'accept-new']);
    default:
      return 'x';
  }
}

const keywords = [
  'HostName',
  'Port',
  'User',
  'IdentityFile',
  'IdentitiesOnly',
  'ProxyJump',
  'ConnectTimeout',
  'UserKnownHostsFile',
  'GlobalKnownHostsFile',
  'HostKeyAlias',
  'StrictHostKeyChecking',
  'BatchMode',
];

function randomLine(rng: Rng, keyword: string, value: string): string {
  const indent = rng.pick(['', '  ', '\t']);
  const word = rng.pick([keyword, keyword.toLowerCase(), keyword.toUpperCase()]);
  const separator = rng.pick([' ', '=', ' = ', '\t']);
  return `${indent}${word}${separator}${value}`;
}

function randomConfig(rng: Rng, keyFiles: string[], includeFile: string | undefined): string {
  const lines: string[] = ['# generated'];
  const blocks = 1 + rng.int(5);
  for (let b = 0; b < blocks; b++) {
    const count = 1 + rng.int(3);
    const chosen = Array.from({ length: count }, () => rng.pick(patterns));
    lines.push(`${rng.pick(['Host', 'host', 'HOST'])} ${chosen.join(' ')}`);
    for (let k = 0; k < 1 + rng.int(5); k++) {
      const keyword = rng.pick(keywords);
      lines.push(randomLine(rng, keyword, randomValue(rng, keyword, keyFiles)));
    }
    if (includeFile !== undefined && rng.chance(0.3)) lines.push(`  Include ${includeFile}`);
    if (rng.chance(0.2)) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function randomArgs(rng: Rng, keyFiles: string[]): string[] {
  const options = [
    ['-p', '2022'],
    ['-l', 'cliuser'],
    ['-o', 'Port=3000'],
    ['-oUser=ouser'],
    ['-J', 'cj'],
    ['-o', 'StrictHostKeyChecking=no'],
    ['-o', 'HostKeyAlias=cli-alias'],
    ['-o', 'UserKnownHostsFile=/tmp/cli-kh'],
    ['-o', 'IdentitiesOnly=yes'],
    ['-i', keyFiles[0]!],
    ['-p2200'],
  ];
  const args: string[] = [];
  for (let i = rng.int(4); i > 0; i--) {
    const option = rng.pick(options);
    // ssh allows a single -J ("Only a single -J option is permitted").
    if (option[0] === '-J' && args.includes('-J')) continue;
    args.push(...option);
  }
  return args;
}

describe('ssh config reading without ssh, against real ssh -G', { skip: noSsh }, () => {
  test('generated configs and command lines resolve the same', () => {
    const seed = seedFrom('SSH_CONFIG_SEED');
    const rng = makeRng(seed);
    const keyFiles = [path.join(dir, 'idkey')];
    fs.writeFileSync(keyFiles[0]!, 'not really a key\n');
    let compared = 0;
    for (let round = 0; round < 40; round++) {
      const includeFile = path.join(dir, `include-${round}.conf`);
      fs.writeFileSync(includeFile, randomConfig(rng, keyFiles, undefined));
      const configFile = path.join(dir, `config-${round}`);
      const config = randomConfig(rng, keyFiles, includeFile);
      fs.writeFileSync(configFile, config);
      const args = randomArgs(rng, keyFiles);
      for (const host of hosts) {
        const user = rng.chance(0.3) ? 'urluser' : undefined;
        const destination = user === undefined ? host : `${user}@${host}`;
        const expected = viaSsh(configFile, args, destination, host);
        const actual = viaFallback(configFile, args, user, host);
        assert.deepEqual(
          actual,
          expected,
          `seed ${seed} round ${round} host ${destination} args ${JSON.stringify(args)}\n${config}\n--- include:\n${fs.readFileSync(includeFile, 'utf8')}`,
        );
        compared++;
      }
    }
    assert.ok(compared >= 200);
  });

  test('Include with a glob, Match all, and an unevaluated Match noted', () => {
    fs.writeFileSync(path.join(dir, 'part-1.conf'), 'Host inc\n  Port 1111\n');
    fs.writeFileSync(path.join(dir, 'part-2.conf'), 'Host inc\n  Port 2222\n  User second\n');
    const configFile = path.join(dir, 'globbed');
    fs.writeFileSync(configFile, `Include ${dir}/part-*.conf\nMatch all\n  ConnectTimeout 7\n`);
    assert.deepEqual(viaFallback(configFile, [], undefined, 'inc'), viaSsh(configFile, [], 'inc', 'inc'));
    const withMatch = path.join(dir, 'match');
    fs.writeFileSync(withMatch, 'Match host x\n  Port 6\n');
    const result = resolveFromConfigFiles({
      host: 'x',
      user: undefined,
      commandLine: { ...parseSshArguments([]), configFile: withMatch },
      home,
      localUser,
    });
    assert.match(result.notes.join(' '), /Match host x/);
  });
});

describe('ssh config pieces', () => {
  test('Host patterns: *, ?, negation, case-sensitive (as ssh matches them)', () => {
    assert.ok(hostPatternsMatch('a1', ['a*', '!ab?']));
    assert.ok(!hostPatternsMatch('abc', ['a*', '!ab?']));
    assert.ok(hostPatternsMatch('bxc', ['b?c']));
    assert.ok(!hostPatternsMatch('FOO', ['foo']));
    assert.ok(!hostPatternsMatch('x', ['!y']));
  });

  test('config lines: Key value, Key=value, quotes, comments', () => {
    assert.deepEqual(splitConfigLine('  IdentityFile "/a b/c" # comment'), {
      keyword: 'identityfile',
      args: ['/a b/c'],
    });
    assert.deepEqual(splitConfigLine('Port=22'), { keyword: 'port', args: ['22'] });
    assert.deepEqual(splitConfigLine('User = nix'), { keyword: 'user', args: ['nix'] });
    assert.equal(splitConfigLine('# only a comment'), undefined);
  });

  test('known_hosts name: HostKeyAlias as is, else host, else [host]:port', () => {
    assert.equal(knownHostsName({ hostKeyAlias: undefined, hostName: 'h', port: 22 }), 'h');
    assert.equal(knownHostsName({ hostKeyAlias: undefined, hostName: 'h', port: 2222 }), '[h]:2222');
    assert.equal(knownHostsName({ hostKeyAlias: 'alias', hostName: 'h', port: 2222 }), 'alias');
  });

  test('a host or user beginning with - is refused before ssh is run', async () => {
    assert.match(refusedDestination(undefined, '-oProxyCommand=touch /tmp/x') ?? '', /begins with '-'/);
    assert.match(refusedDestination('-oProxyCommand=x', 'host') ?? '', /user/);
    assert.equal(refusedDestination('nix', 'builder'), undefined);
    const marker = path.join(dir, 'ssh-was-run');
    const fakeSsh = path.join(dir, 'fake-ssh');
    fs.writeFileSync(fakeSsh, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const result = await resolveSshHost({ user: undefined, host: '-oProxyCommand=sh' }, { sshBinary: fakeSsh });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.failure.code, 'invalid-host');
    assert.ok(!fs.existsSync(marker), 'ssh must not run for a host beginning with -');
    const ok = await resolveSshHost({ user: undefined, host: 'fine' }, { sshBinary: fakeSsh });
    assert.ok(fs.existsSync(marker), 'the fake ssh runs for a normal host (the check above is meaningful)');
    assert.equal(ok.ok, true);
  });

  test('column 3 is passed as -i; an unreadable one is dropped, as ssh drops it', { skip: noSsh }, async () => {
    const configFile = path.join(dir, 'col3');
    fs.writeFileSync(configFile, 'Host col3\n  IdentityFile /tmp/from-config\n');
    const key = path.join(dir, 'col3-key');
    fs.writeFileSync(key, 'x');
    const readable = await resolveSshHost(
      { user: undefined, host: 'col3' },
      { configFile, identityFile: key, nixSshOpts: '' },
    );
    assert.ok(readable.ok);
    assert.deepEqual(readable.ok && readable.host.identityFiles, [key, '/tmp/from-config']);
    const missing = await resolveSshHost(
      { user: undefined, host: 'col3' },
      { configFile, identityFile: path.join(dir, 'nope'), nixSshOpts: '' },
    );
    assert.ok(missing.ok);
    assert.deepEqual(missing.ok && missing.host.identityFiles, ['/tmp/from-config']);
    assert.deepEqual(missing.ok && missing.host.droppedIdentityFiles, [path.join(dir, 'nope')]);
  });

  test('NIX_SSHOPTS -F wins over the configured file; -p over the config Port', { skip: noSsh }, async () => {
    const a = path.join(dir, 'cfg-a');
    const b = path.join(dir, 'cfg-b');
    fs.writeFileSync(a, 'Host h\n  Port 1\n');
    fs.writeFileSync(b, 'Host h\n  Port 2\n  HostName real\n');
    const result = await resolveSshHost({ user: undefined, host: 'h' }, { configFile: a, nixSshOpts: `-F ${b}` });
    assert.ok(result.ok);
    assert.equal(result.ok && result.host.port, 2);
    const withPort = await resolveSshHost(
      { user: undefined, host: 'h' },
      { configFile: a, nixSshOpts: `-F ${b} -p 9` },
    );
    assert.equal(withPort.ok && withPort.host.port, 9);
    assert.equal(withPort.ok && withPort.host.hostName, 'real');
    const fallback = await resolveSshHost(
      { user: undefined, host: 'h' },
      { configFile: a, nixSshOpts: `-F ${b} -p 9`, sshBinary: null },
    );
    assert.equal(fallback.ok && fallback.host.source, 'config files');
    assert.equal(fallback.ok && fallback.host.port, 9);
  });
});
