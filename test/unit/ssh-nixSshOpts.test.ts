// NIX_SSHOPTS as Nix 2.8 splits it (tokenizeString on space, tab, CR, LF: no quoting) and as
// ssh's getopt then reads the words.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseNixSshOpts,
  parseSshArguments,
  resolutionArguments,
  tokenizeNixSshOpts,
} from '../../server/src/ssh/nixSshOpts';

describe('NIX_SSHOPTS tokenizing (Nix tokenizeString)', () => {
  test('splits on spaces, tabs, CR and LF, drops empty words', () => {
    assert.deepEqual(tokenizeNixSshOpts('  -p 2222\t-i  /k\n-oA=B\r\n'), ['-p', '2222', '-i', '/k', '-oA=B']);
    assert.deepEqual(tokenizeNixSshOpts(''), []);
    assert.deepEqual(tokenizeNixSshOpts(undefined), []);
  });

  test('quotes mean nothing to Nix: a quoted value with a space becomes two words', () => {
    assert.deepEqual(tokenizeNixSshOpts('-o "ProxyCommand=nc %h %p"'), ['-o', '"ProxyCommand=nc', '%h', '%p"']);
  });
});

describe('ssh arguments (getopt)', () => {
  test('-p, -l, -J, -i become settings in command-line order; -F is the config file', () => {
    const parsed = parseNixSshOpts('-F /etc/lab.cfg -p 2222 -l nix -J jump -i /keys/k');
    assert.equal(parsed.configFile, '/etc/lab.cfg');
    assert.deepEqual(
      parsed.settings.map((s) => [s.name, s.value, s.flag]),
      [
        ['port', '2222', '-p'],
        ['user', 'nix', '-l'],
        ['proxyjump', 'jump', '-J'],
        ['identityfile', '/keys/k', '-i'],
      ],
    );
  });

  test('values glued to the flag (-p2222, -oName=Value) and grouped flags (-4Cp 22)', () => {
    const parsed = parseSshArguments(['-p2222', '-oStrictHostKeyChecking=no', '-4Cp', '22', '-o', 'User = alice']);
    assert.deepEqual(
      parsed.settings.map((s) => [s.name, s.value]),
      [
        ['port', '2222'],
        ['stricthostkeychecking', 'no'],
        ['port', '22'],
        ['user', 'alice'],
      ],
    );
    assert.deepEqual(parsed.flags, ['-4', '-C']);
  });

  test('the first value wins, as in ssh', () => {
    const parsed = parseNixSshOpts('-p 1 -o Port=2');
    assert.equal(parsed.settings.find((setting) => setting.name === 'port')?.value, '1');
  });

  test('the last -F wins', () => {
    assert.equal(parseNixSshOpts('-F a -F b').configFile, 'b');
  });

  test('what ssh would refuse or misread is noted', () => {
    assert.match(parseNixSshOpts('-p').notes.join(' '), /no value/);
    assert.match(parseNixSshOpts('-Z').notes.join(' '), /not an ssh option/);
    assert.match(parseNixSshOpts('-o NoEquals').notes.join(' '), /Name=Value/);
    assert.match(parseNixSshOpts('-p abc').notes.join(' '), /not a port/);
    const stray = parseNixSshOpts('-p 22 oops');
    assert.deepEqual(stray.strayWords, ['oops']);
    assert.match(stray.notes.join(' '), /run them on the builder/);
  });

  test('options that do not change the destination are kept out of the settings', () => {
    const parsed = parseNixSshOpts('-v -C -c aes128-ctr -S /tmp/ctl -L 1:h:2');
    assert.deepEqual(parsed.settings, []);
    assert.deepEqual(parsed.flags, ['-v', '-C', '-c aes128-ctr', '-S /tmp/ctl', '-L 1:h:2']);
  });

  test('only -F, -o, -p, -l, -J and -i are handed to ssh -G', () => {
    const parsed = parseNixSshOpts('-v -F /c -p 2 -o User=u -S /ctl -J j -i /k -V');
    assert.deepEqual(resolutionArguments(parsed), ['-F', '/c', '-p', '2', '-o', 'user=u', '-J', 'j', '-i', '/k']);
  });
});
