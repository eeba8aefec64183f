// The pieces behind completion and hover: where the cursor is as Nix splits the line, the ssh
// config and known_hosts read without ssh, and key fingerprints exactly as `ssh-keygen -lf`
// prints them (checked against the real ssh-keygen).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { placeInBuilders, placeInNixConf, type CursorPlace } from '../../server/src/language/cursor';
import { keygenLine } from '../../server/src/language/keyDescription';
import { privateKeysIn } from '../../server/src/language/keyFiles';
import { parsePublicKeyLine } from '../../server/src/model/hostKey';
import { rulesFor } from '../../server/src/model/nixVersion';
import { nix2_8Rules } from '../helpers/nix2_8Rules';
import { sshHostAliases } from '../../server/src/ssh/hostAliases';
import { plainHostNames, plainKeysFor, readKnownHostsFile } from '../../server/src/ssh/knownHosts';
import { parseSshArguments } from '../../server/src/ssh/nixSshOpts';
import { parseSshGOutput as parseSshG, sshGArguments as sshGArgumentsFor } from '../../server/src/ssh/sshConfig';
import { readConfigSettings } from '../../server/src/ssh/sshConfigFallback';

const nix2_29Rules = rulesFor({ major: 2, minor: 29, patch: 0 });

// The SSH layer's functions, called the way the editing features once called their own copies.
const sshOptionsFromConfig = (host: string, configFile: string, home: string) => {
  const read = readConfigSettings({
    host,
    user: undefined,
    commandLine: { ...parseSshArguments([]), configFile },
    home,
    localUser: 'nobody',
  });
  return { options: read.settings, skippedMatch: read.skippedMatch };
};
const sshGArguments = (request: { host: string; user: string; port: string; configFile: string; trusted: boolean }) =>
  sshGArgumentsFor(
    { ...parseSshArguments(['-p', request.port, '-l', request.user]), configFile: request.configFile },
    request.host,
  );
const knownHostNames = (files: string[]) => plainHostNames(files.flatMap(readKnownHostsFile));
const knownKeysFor = (name: string, files: string[]) =>
  plainKeysFor(name, files.flatMap(readKnownHostsFile)).map((entry) => ({
    keyLine: `${entry.keyType} ${entry.key.toString('base64')}`,
  }));
let home: string;

before(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'editing-helpers-'));
  fs.mkdirSync(path.join(home, '.ssh', 'config.d'), { recursive: true });
});
after(() => fs.rmSync(home, { recursive: true, force: true }));

/** The place at the `|` of a text. */
function at(text: string, place: (t: string, o: number) => CursorPlace): CursorPlace {
  const offset = text.indexOf('|');
  return place(text.slice(0, offset) + text.slice(offset + 1), offset);
}
const column = (p: CursorPlace) => (p.kind === 'column' ? p.index : p.kind);

describe('the cursor, as Nix splits the text', () => {
  test('columns count from 0; between columns the cursor is in the next one', () => {
    const inFile = (t: string) => column(at(t, (s, o) => placeInBuilders(s, o, nix2_8Rules)));
    assert.equal(inFile('|'), 0);
    assert.equal(inFile('ssh://a|'), 0);
    assert.equal(inFile('ssh://a |'), 1);
    assert.equal(inFile('ssh://a x86_64-linux,aar|ch64'), 1);
    assert.equal(inFile('ssh://a x86_64-linux  - |  4'), 3);
    assert.equal(inFile('ssh://a - - - - - - |'), 7);
  });

  test('a `#` comment ends at the next `;` on Nix 2.8, at the end of the line from Nix 2.29', () => {
    const text = '# note ; ssh://b |';
    assert.equal(column(at(text, (s, o) => placeInBuilders(s, o, nix2_8Rules))), 1);
    assert.equal(column(at(text, (s, o) => placeInBuilders(s, o, nix2_29Rules))), 'comment');
  });

  test('`@` starts an include only at the very start of an entry on Nix 2.8', () => {
    assert.equal(at('@/etc/ni|', (s, o) => placeInBuilders(s, o, nix2_8Rules)).kind, 'include');
    assert.equal(column(at('  @/etc/ni|', (s, o) => placeInBuilders(s, o, nix2_8Rules))), 0);
    assert.equal(at('  @/etc/ni|', (s, o) => placeInBuilders(s, o, nix2_29Rules)).kind, 'include');
  });

  test('nix.conf: setting names, the builders value, and where an `@file` could start', () => {
    const conf = (t: string, rules = nix2_8Rules) => at(t, (s, o) => placeInNixConf(s, o, rules));
    assert.equal(conf('buil|').kind, 'conf-name');
    assert.equal(conf('max-jobs = |').kind, 'conf-value');
    assert.equal(conf('builders = a # x|').kind, 'comment');
    const first = conf('builders = |');
    assert.ok(first.kind === 'column' && first.index === 0 && first.includeStart === 'builders = '.length);
    // Nix 2.8 joins `a ; @f` into an entry ` @f`: a machine, not an include. Only right after
    // the `;` does an `@` count, so the include would have to replace the space.
    const after = conf('builders = a ; |');
    assert.ok(after.kind === 'column' && after.includeStart === 'builders = a ;'.length);
    const trimmed = conf('builders = a ; |', nix2_29Rules);
    assert.ok(trimmed.kind === 'column' && trimmed.includeStart === 'builders = a ; '.length);
    assert.equal(column(conf('builders = ssh://a x86_64-linux |')), 2);
  });
});

describe('ssh config, read without ssh', () => {
  test('Host aliases come from the file and its Includes (globs), patterns are left out', () => {
    fs.writeFileSync(
      path.join(home, '.ssh', 'config'),
      'Host mac-mini big\n  HostName 192.168.1.20\n  User nix\nHost *.example.org !bad.example.org\n  User builder\nInclude config.d/*\n',
    );
    fs.writeFileSync(
      path.join(home, '.ssh', 'config.d', 'team'),
      'Host team-builder\n  HostName 10.0.0.5\n  Port 2222\n',
    );
    const aliases = sshHostAliases(undefined, home);
    assert.deepEqual(
      aliases.map((a) => [a.alias, a.hostName]),
      [
        ['mac-mini', '192.168.1.20'],
        ['big', '192.168.1.20'],
        ['team-builder', '10.0.0.5'],
      ],
    );
  });

  test('first value wins, patterns and negation match, Includes inside a block only apply to it', () => {
    const file = path.join(home, 'custom_config');
    fs.writeFileSync(path.join(home, 'inner'), 'Port 2200\nHost other\n  Port 1\n');
    fs.writeFileSync(
      file,
      `Host *.example.org !bad.example.org\n  User builder\n  IdentityFile ~/.ssh/a\nHost nomatch\n  Include ${path.join(home, 'inner')}\nHost *\n  User fallback\n  IdentityFile ~/.ssh/b\nMatch exec "false"\n  Port 9\n`,
    );
    const good = sshOptionsFromConfig('good.example.org', file, home);
    assert.deepEqual(good.options.get('user'), ['builder']);
    assert.deepEqual(good.options.get('identityfile'), ['~/.ssh/a', '~/.ssh/b']);
    assert.equal(good.options.get('port'), undefined);
    assert.equal(good.skippedMatch, true);
    assert.deepEqual(sshOptionsFromConfig('bad.example.org', file, home).options.get('user'), ['fallback']);
    assert.deepEqual(sshOptionsFromConfig('nomatch', file, home).options.get('port'), ['2200']);
  });

  test('`ssh -G` runs with an argument list that ends the options before the host', () => {
    assert.deepEqual(sshGArguments({ host: 'builder', user: 'nix', port: '2222', configFile: '/c', trusted: true }), [
      '-G',
      '-F',
      '/c',
      '-p',
      '2222',
      '-l',
      'nix',
      '--',
      'builder',
    ]);
    const options = parseSshG(
      'hostname 10.0.0.2\nport 22\nidentityfile ~/.ssh/id_rsa\nidentityfile ~/.ssh/id_ed25519\n',
    );
    assert.deepEqual(options.get('identityfile'), ['~/.ssh/id_rsa', '~/.ssh/id_ed25519']);
  });
});

describe('known_hosts', () => {
  test('plain names are offered, hashed ones are not, but their keys are found by name', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJS2OckMXR2oIoS5hzc497hPcXIWfcxJM9RXulPNFqYU';
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('secret.example').digest('base64')}`;
    const file = path.join(home, 'known_hosts');
    fs.writeFileSync(
      file,
      `pi.local,10.0.0.9 ${key}\n[odd.example]:2222 ${key}\n${hashed} ${key} \n@revoked revoked.example ${key}\n`,
    );
    assert.deepEqual(
      knownHostNames([file]).map((h) => [h.host, h.port]),
      [
        ['pi.local', undefined],
        ['10.0.0.9', undefined],
        ['odd.example', '2222'],
      ],
    );
    assert.deepEqual(
      knownKeysFor('secret.example', [file]).map((k) => k.keyLine),
      [key],
    );
    assert.deepEqual(
      knownKeysFor('[odd.example]:2222', [file]).map((k) => k.keyLine),
      [key],
    );
    assert.deepEqual(knownKeysFor('revoked.example', [file]), []);
  });
});

describe('key files and fingerprints', () => {
  test('private keys in ~/.ssh: a .pub twin or a private key header; nothing else', () => {
    const dir = path.join(home, 'keys');
    fs.mkdirSync(dir);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id_builder')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'lonely')]);
    fs.rmSync(path.join(dir, 'lonely.pub'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a key');
    fs.writeFileSync(path.join(dir, 'known_hosts'), '');
    assert.deepEqual(
      privateKeysIn(dir).map((k) => [path.basename(k.path), k.reason]),
      [
        ['id_builder', 'pub-twin'],
        ['lonely', 'header'],
      ],
    );
  });

  for (const [type, bits] of [
    ['ed25519', ''],
    ['ecdsa', '256'],
    ['ecdsa', '384'],
    ['ecdsa', '521'],
    ['rsa', '2048'],
    ['rsa', '3071'],
  ] as const) {
    test(`a ${type}${bits ? ` ${bits}` : ''} key is described exactly as ssh-keygen -lf prints it`, () => {
      const file = path.join(home, `key-${type}-${bits}`);
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        type,
        ...(bits ? ['-b', bits] : []),
        '-N',
        '',
        '-C',
        `root@${type}-host`,
        '-f',
        file,
      ]);
      const expected = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).trim();
      const key = parsePublicKeyLine(fs.readFileSync(`${file}.pub`, 'utf8'));
      assert.ok(key);
      assert.equal(keygenLine(key), expected);
    });
  }
});
