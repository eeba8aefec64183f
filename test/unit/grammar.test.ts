// Specifications of the TextMate grammars (syntaxes/*.tmLanguage.json), checked with the engine
// VS Code uses. Each test names a piece of syntax and the scope an editor theme will see there.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  dumpTokens,
  MACHINES,
  NIX_CONF,
  scopesOf,
  tokenizeLine,
  tokenizeText,
  tokenOf,
  type GrammarScope,
  type Token,
} from './helpers/tokenize';

/** Asserts that `needle` in `line` is one token exactly and carries `scope`. */
async function assertToken(
  grammar: GrammarScope,
  line: string,
  needle: string,
  scope: string,
  occurrence = 0,
): Promise<Token> {
  const token = await tokenOf(grammar, line, needle, occurrence);
  const context = `\n${dumpTokens(await tokenizeLine(grammar, line))}`;
  assert.equal(token.text, needle, `${JSON.stringify(needle)} should be a token of its own${context}`);
  assert.ok(token.scopes.includes(scope), `${JSON.stringify(needle)} should have ${scope}${context}`);
  return token;
}

function hasScopeStartingWith(scopes: readonly string[], prefix: string): boolean {
  return scopes.some((scope) => scope === prefix || scope.startsWith(`${prefix}.`));
}

describe('nix-machines grammar: the store URI column', () => {
  test('the user of ssh://nix@builder is a user and builder is a host', async () => {
    const line = 'ssh://nix@builder x86_64-linux';
    await assertToken(MACHINES, line, 'ssh', 'keyword.other.scheme.nix-machines');
    await assertToken(MACHINES, line, '://', 'punctuation.separator.scheme.nix-machines');
    await assertToken(MACHINES, line, 'nix', 'variable.other.user.nix-machines');
    await assertToken(MACHINES, line, '@', 'punctuation.separator.user.nix-machines');
    await assertToken(MACHINES, line, 'builder', 'entity.name.host.nix-machines');
  });

  test('ssh-ng://user@host:22 has a scheme, a host and a port', async () => {
    const line = 'ssh-ng://root@10.0.0.7:22 aarch64-linux';
    await assertToken(MACHINES, line, 'ssh-ng', 'keyword.other.scheme.nix-machines');
    await assertToken(MACHINES, line, 'root', 'variable.other.user.nix-machines');
    await assertToken(MACHINES, line, '10.0.0.7', 'entity.name.host.nix-machines');
    await assertToken(MACHINES, line, ':', 'punctuation.separator.port.nix-machines', 1);
    await assertToken(MACHINES, line, '22', 'constant.numeric.port.nix-machines');
  });

  test('a bare host and user@host without a scheme are still a host', async () => {
    await assertToken(MACHINES, 'builder x86_64-linux', 'builder', 'entity.name.host.nix-machines');
    const line = 'nix@mac.local aarch64-darwin';
    await assertToken(MACHINES, line, 'nix', 'variable.other.user.nix-machines');
    await assertToken(MACHINES, line, 'mac.local', 'entity.name.host.nix-machines');
  });

  test('an IPv6 host in brackets is one host', async () => {
    await assertToken(MACHINES, 'ssh://nix@[fe80::1]:2222', '[fe80::1]', 'entity.name.host.nix-machines');
  });

  test('?query parameters of the store URI are a query string', async () => {
    const line = 'ssh://builder?ssh-key=/root/.ssh/id&compress=true x86_64-linux';
    await assertToken(MACHINES, line, '?', 'string.other.query.nix-machines');
    await assertToken(MACHINES, line, '?', 'punctuation.definition.query.nix-machines');
    await assertToken(MACHINES, line, 'ssh-key', 'string.other.query.nix-machines');
    await assertToken(MACHINES, line, 'ssh-key', 'variable.parameter.query.nix-machines');
    await assertToken(MACHINES, line, '/root/.ssh/id', 'string.other.query.nix-machines');
    await assertToken(MACHINES, line, '&', 'punctuation.separator.parameter.nix-machines');
    const system = await scopesOf(MACHINES, line, 'x86_64-linux');
    assert.ok(!system.includes('string.other.query.nix-machines'), 'the query ends with the column');
  });

  test('local, daemon and auto are store names, not hosts', async () => {
    for (const store of ['local', 'daemon', 'auto']) {
      const token = await assertToken(MACHINES, `${store} x86_64-linux`, store, 'support.constant.store.nix-machines');
      assert.ok(!token.scopes.includes('entity.name.host.nix-machines'));
    }
    // ...but only as the whole column: localhost is a host.
    await assertToken(MACHINES, 'localhost x86_64-linux', 'localhost', 'entity.name.host.nix-machines');
  });
});

describe('nix-machines grammar: the other columns', () => {
  test('x86_64-linux is a system, and systems are separated by commas', async () => {
    const line = 'ssh://a x86_64-linux,aarch64-linux';
    await assertToken(MACHINES, line, 'x86_64-linux', 'support.type.system.nix-machines');
    await assertToken(MACHINES, line, ',', 'punctuation.separator.comma.nix-machines');
    await assertToken(MACHINES, line, 'aarch64-linux', 'support.type.system.nix-machines');
  });

  test('the third column is the SSH identity file path', async () => {
    await assertToken(
      MACHINES,
      'ssh://a x86_64-linux /root/.ssh/id_builder 4',
      '/root/.ssh/id_builder',
      'string.unquoted.path.nix-machines',
    );
  });

  test('maxJobs is an integer and speedFactor an integer or a float', async () => {
    const line = 'ssh://a x86_64-linux - 8 2';
    const maxJobs = await assertToken(MACHINES, line, '8', 'meta.column.max-jobs.nix-machines');
    assert.ok(hasScopeStartingWith(maxJobs.scopes, 'constant.numeric.integer'), dumpTokens([maxJobs]));
    const speed = await assertToken(MACHINES, line, '2', 'meta.column.speed-factor.nix-machines');
    assert.ok(hasScopeStartingWith(speed.scopes, 'constant.numeric.integer'), dumpTokens([speed]));
    const float = await tokenOf(MACHINES, 'ssh://a x86_64-linux - 8 1.5', '1.5');
    assert.equal(float.text, '1.5');
    assert.ok(hasScopeStartingWith(float.scopes, 'constant.numeric.float'), dumpTokens([float]));
  });

  test('a maxJobs that is not a number is marked invalid', async () => {
    const token = await tokenOf(MACHINES, 'ssh://a x86_64-linux - four', 'four');
    assert.ok(hasScopeStartingWith(token.scopes, 'invalid.illegal'), dumpTokens([token]));
  });

  test('a `-` column is a default placeholder, in every column after the first', async () => {
    const line = 'ssh://a - - - - - - -';
    for (let occurrence = 0; occurrence < 7; occurrence++) {
      await assertToken(MACHINES, line, '-', 'constant.language.default.nix-machines', occurrence);
    }
    // A `-` inside a value is not a placeholder.
    const system = await assertToken(
      MACHINES,
      'ssh://a x86_64-linux',
      'x86_64-linux',
      'support.type.system.nix-machines',
    );
    assert.ok(!system.scopes.includes('constant.language.default.nix-machines'));
  });

  test('features vs mandatory features', async () => {
    const line = 'ssh://a x86_64-linux - 4 1 kvm,big-parallel benchmark';
    for (const feature of ['kvm', 'big-parallel']) {
      const token = await assertToken(MACHINES, line, feature, 'entity.other.attribute-name.feature.nix-machines');
      assert.ok(!token.scopes.includes('entity.other.attribute-name.feature.mandatory.nix-machines'));
    }
    await assertToken(MACHINES, line, ',', 'punctuation.separator.comma.nix-machines');
    await assertToken(MACHINES, line, 'benchmark', 'entity.other.attribute-name.feature.mandatory.nix-machines');
  });

  test('the base64 key column', async () => {
    const key = 'c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUhlbGxv';
    await assertToken(MACHINES, `ssh://a x86_64-linux - 4 1 - - ${key}`, key, 'string.unquoted.base64.nix-machines');
    await assertToken(
      MACHINES,
      'ssh://a x86_64-linux - 4 1 - - c3Nz==',
      'c3Nz==',
      'string.unquoted.base64.nix-machines',
    );
  });

  test('the 9th column is marked extra, and so is every column after it', async () => {
    const line = 'ssh://a x86_64-linux - 4 1 - - c3Nz ninth tenth';
    await assertToken(MACHINES, line, 'ninth', 'invalid.illegal.extra-column.nix-machines');
    await assertToken(MACHINES, line, 'tenth', 'invalid.illegal.extra-column.nix-machines');
    const key = await scopesOf(MACHINES, line, 'c3Nz');
    assert.ok(!key.includes('invalid.illegal.extra-column.nix-machines'), 'the 8th column is not extra');
  });

  test('columns may be separated by tabs and several spaces', async () => {
    const line = 'ssh://a\tx86_64-linux   -\t\t4';
    await assertToken(MACHINES, line, 'x86_64-linux', 'support.type.system.nix-machines');
    await assertToken(MACHINES, line, '4', 'constant.numeric.integer.max-jobs.nix-machines');
  });
});

describe('nix-machines grammar: comments, includes and entries', () => {
  test('a comment line and a comment after the columns', async () => {
    await assertToken(MACHINES, '# the builders', '#', 'punctuation.definition.comment.nix-machines');
    await assertToken(MACHINES, '# the builders', ' the builders', 'comment.line.number-sign.nix-machines');
    const line = 'ssh://a x86_64-linux # fast one; x86_64-darwin';
    await assertToken(MACHINES, line, '#', 'comment.line.number-sign.nix-machines');
    // `#` runs to the end of the line, past a `;`.
    const rest = await scopesOf(MACHINES, line, 'x86_64-darwin');
    assert.ok(rest.includes('comment.line.number-sign.nix-machines'));
    assert.ok(!rest.includes('support.type.system.nix-machines'));
  });

  test('@/etc/nix/machines.d/x is an include', async () => {
    const line = '@/etc/nix/machines.d/x';
    await assertToken(MACHINES, line, '@', 'keyword.control.include.nix-machines');
    await assertToken(MACHINES, line, '/etc/nix/machines.d/x', 'string.unquoted.path.nix-machines');
  });

  test('`;` separates two entries on one line', async () => {
    const line = 'ssh://a x86_64-linux ; ssh://b aarch64-linux;@/etc/nix/more';
    await assertToken(MACHINES, line, ';', 'punctuation.separator.entry.nix-machines');
    await assertToken(MACHINES, line, 'b', 'entity.name.host.nix-machines', 0);
    await assertToken(MACHINES, line, 'aarch64-linux', 'support.type.system.nix-machines');
    await assertToken(MACHINES, line, '@', 'keyword.control.include.nix-machines');
    // The second entry starts again at column 1: its URI is not a system.
    const host = await scopesOf(MACHINES, line, 'ssh', 1);
    assert.ok(host.includes('keyword.other.scheme.nix-machines'));
  });

  test('a multi-line machines file tokenizes every line', async () => {
    const lines = await tokenizeText(
      MACHINES,
      ['# builders', 'ssh://nix@one x86_64-linux - 4', '', '@/etc/nix/machines.d/two', 'three aarch64-linux'].join(
        '\n',
      ),
    );
    assert.equal(lines.length, 5);
    const scopesAtStart = (n: number): readonly string[] => lines[n]?.[0]?.scopes ?? [];
    assert.ok(scopesAtStart(0).includes('comment.line.number-sign.nix-machines'));
    assert.ok(scopesAtStart(1).includes('keyword.other.scheme.nix-machines'));
    assert.ok(scopesAtStart(3).includes('keyword.control.include.nix-machines'));
    assert.ok(scopesAtStart(4).includes('entity.name.host.nix-machines'));
    assert.ok(!scopesAtStart(4).includes('comment.line.number-sign.nix-machines'));
  });
});

describe('nix-conf grammar', () => {
  test('nix.conf: setting name, =, value, comment', async () => {
    const line = 'substituters = https://cache.nixos.org # the default';
    const name = await tokenOf(NIX_CONF, line, 'substituters');
    assert.equal(name.text, 'substituters');
    assert.ok(
      name.scopes.includes('support.variable.setting.nix-conf') ||
        name.scopes.includes('variable.other.setting.nix-conf'),
      dumpTokens([name]),
    );
    await assertToken(NIX_CONF, line, '=', 'keyword.operator.assignment.nix-conf');
    await assertToken(NIX_CONF, line, 'https://cache.nixos.org', 'string.unquoted.value.nix-conf');
    await assertToken(NIX_CONF, line, '#', 'punctuation.definition.comment.nix-conf');
    await assertToken(NIX_CONF, line, ' the default', 'comment.line.number-sign.nix-conf');
  });

  test('nix.conf: an unknown setting name is a variable, a known one is supported', async () => {
    await assertToken(NIX_CONF, 'my-own-thing = 1', 'my-own-thing', 'variable.other.setting.nix-conf');
    await assertToken(
      NIX_CONF,
      'extra-substituters = https://x',
      'extra-substituters',
      'support.variable.setting.nix-conf',
    );
  });

  test('nix.conf: true/false are booleans and numbers are numeric', async () => {
    await assertToken(NIX_CONF, 'sandbox = true', 'true', 'constant.language.boolean.nix-conf');
    await assertToken(NIX_CONF, 'keep-going=false', 'false', 'constant.language.boolean.nix-conf');
    const cores = await tokenOf(NIX_CONF, 'cores = 16', '16');
    assert.equal(cores.text, '16');
    assert.ok(hasScopeStartingWith(cores.scopes, 'constant.numeric'), dumpTokens([cores]));
    // A word that merely contains "true" is a plain value.
    await assertToken(NIX_CONF, 'system-features = trueish', 'trueish', 'string.unquoted.value.nix-conf');
  });

  test('nix.conf: include and !include paths', async () => {
    await assertToken(NIX_CONF, 'include /etc/nix/common.conf', 'include', 'keyword.control.include.nix-conf');
    await assertToken(
      NIX_CONF,
      'include /etc/nix/common.conf',
      '/etc/nix/common.conf',
      'string.unquoted.path.nix-conf',
    );
    await assertToken(NIX_CONF, '!include ./local.conf # optional', '!include', 'keyword.control.include.nix-conf');
    await assertToken(NIX_CONF, '!include ./local.conf # optional', './local.conf', 'string.unquoted.path.nix-conf');
    await assertToken(NIX_CONF, '!include ./local.conf # optional', '#', 'comment.line.number-sign.nix-conf');
  });

  test('nix.conf: builders value has machines scopes', async () => {
    const line = 'builders = ssh://a x86_64-linux';
    await assertToken(NIX_CONF, line, 'builders', 'support.variable.setting.nix-conf');
    await assertToken(NIX_CONF, line, '=', 'keyword.operator.assignment.nix-conf');
    const host = await assertToken(NIX_CONF, line, 'a', 'entity.name.host.nix-machines');
    assert.ok(host.scopes.includes('meta.embedded.builders.nix-conf'), dumpTokens([host]));
    const system = await assertToken(NIX_CONF, line, 'x86_64-linux', 'support.type.system.nix-machines');
    assert.ok(system.scopes.includes('meta.embedded.builders.nix-conf'));
    // The setting name itself is not part of the embedded machines language.
    const name = await scopesOf(NIX_CONF, line, 'builders');
    assert.ok(!name.includes('meta.embedded.builders.nix-conf'));
  });

  test('nix.conf: builders with `;`-separated entries, an include and a comment', async () => {
    const line = 'extra-builders = ssh://a x86_64-linux ; @/etc/nix/machines # more';
    await assertToken(NIX_CONF, line, 'extra-builders', 'support.variable.setting.nix-conf');
    await assertToken(NIX_CONF, line, ';', 'punctuation.separator.entry.nix-machines');
    await assertToken(NIX_CONF, line, '@', 'keyword.control.include.nix-machines');
    await assertToken(NIX_CONF, line, '/etc/nix/machines', 'string.unquoted.path.nix-machines');
    const comment = await scopesOf(NIX_CONF, line, ' more');
    assert.ok(
      comment.some((scope) => scope.startsWith('comment.line.number-sign')),
      comment.join(' '),
    );
  });

  test('a value that is not builders has no machines scopes', async () => {
    for (const line of [
      'substituters = ssh://a x86_64-linux',
      'builders-use-substitutes = true',
      'system = x86_64-linux',
    ]) {
      const tokens = await tokenizeLine(NIX_CONF, line);
      const leaked = tokens.filter((token) =>
        token.scopes.some((scope) => scope.endsWith('.nix-machines') || scope === 'meta.embedded.builders.nix-conf'),
      );
      assert.deepEqual(leaked, [], `${line}\n${dumpTokens(tokens)}`);
    }
  });

  test('nix.conf: the builders scopes end with the line (multi-line file)', async () => {
    const text = [
      '# remote builds',
      'builders = ssh://a x86_64-linux',
      'max-jobs = 0',
      '!include extra.conf',
      'builders-use-substitutes = true',
    ].join('\n');
    const lines = await tokenizeText(NIX_CONF, text);
    assert.equal(lines.length, 5);
    const find = (n: number, text: string): Token => {
      const token = lines[n]?.find((t) => t.text === text);
      assert.ok(token, `line ${n} has a token ${JSON.stringify(text)}\n${dumpTokens(lines[n] ?? [])}`);
      return token;
    };
    assert.ok(find(1, 'a').scopes.includes('entity.name.host.nix-machines'));
    const maxJobs = find(2, 'max-jobs');
    assert.ok(maxJobs.scopes.includes('support.variable.setting.nix-conf'));
    assert.ok(
      !maxJobs.scopes.includes('meta.embedded.builders.nix-conf'),
      'the embedded region closed at the end of line 2',
    );
    assert.ok(hasScopeStartingWith(find(2, '0').scopes, 'constant.numeric'));
    assert.ok(find(3, '!include').scopes.includes('keyword.control.include.nix-conf'));
    assert.ok(find(4, 'true').scopes.includes('constant.language.boolean.nix-conf'));
  });
});
