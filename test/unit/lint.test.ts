// The warnings of a builders text (machines file or `builders` value): what Nix 2.8 accepts
// without a word and then goes wrong. That real Nix accepts each of these texts (so they are
// warnings, not errors) is checked in lint-oracle.test.ts. SSH keys and includes are real
// files in a temp directory.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseBuilders, type ParseBuildersOptions } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { nix2_8, rulesFor, type NixVersion } from '../../server/src/model/nixVersion';
import { problemSeverities, type Problem, type ProblemCode, type Span } from '../../server/src/model/problem';
import { lintBuilders, lintNixConf, type LintContext } from '../../server/src/model/lint/index';
import { readFileLikeNix } from '../helpers/nix';

const v = (major: number, minor: number): NixVersion => ({ major, minor, patch: 0 });
const contextFor = (version: NixVersion, extra: Partial<LintContext> = {}): LintContext => ({
  version,
  rules: rulesFor(version),
  keyHome: '/root',
  daemon: true,
  ...extra,
});
const nix28 = contextFor(nix2_8);
const nix224 = contextFor(v(2, 24));

const lint = (text: string, context: LintContext = nix28, options: ParseBuildersOptions = {}) => {
  const parsed = parseBuilders(text, context.rules, { localSystem: 'x86_64-linux', ...options });
  return { parsed, problems: lintBuilders(parsed, context) };
};
const codes = (problems: Problem[]): ProblemCode[] => problems.map((p) => p.code);
const at = (text: string, span: Span | undefined): string =>
  span === undefined ? '<none>' : text.slice(span.start, span.end);
/** The one problem with this code (failing when there is not exactly one). */
const one = (problems: Problem[], code: ProblemCode): Problem => {
  const found = problems.filter((p) => p.code === code);
  assert.equal(found.length, 1, `expected one ${code}, got ${JSON.stringify(problems, null, 1)}`);
  return found[0]!;
};

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-test-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('every lint code is in the problem table', () => {
  test('warnings are warnings, the value error is an error, the hints are information', () => {
    const expected: Partial<Record<ProblemCode, string>> = {
      'unknown-system': 'warning',
      'max-jobs-zero': 'warning',
      'speed-factor-zero': 'warning',
      'speed-factor-fraction': 'information',
      'host-key-raw': 'warning',
      'host-key-not-a-key': 'warning',
      'extra-columns': 'warning',
      'include-missing': 'warning',
      'ssh-key-missing': 'warning',
      'ssh-key-unreadable': 'warning',
      'ssh-key-encrypted': 'warning',
      'ssh-key-not-private': 'warning',
      'ssh-key-permissions': 'warning',
      'duplicate-machine': 'warning',
      'host-starts-with-dash': 'warning',
      'store-uri-unusable': 'warning',
      'shell-in-store-setting': 'warning',
      'port-in-uri': 'warning',
      'mandatory-without-need': 'information',
      'unknown-feature': 'warning',
      'unknown-setting': 'warning',
      'conf-invalid-value': 'error',
      'nothing-can-build': 'warning',
    };
    for (const [code, severity] of Object.entries(expected))
      assert.equal(problemSeverities[code as ProblemCode], severity, code);
  });
});

describe('systems (column 2)', () => {
  test('a system nobody builds for is a warning on that system only: "Did you mean x86_64-linux?", the suggestion as data', () => {
    const text = 'builder aarch64-linux,x86-64-linux';
    const p = one(lint(text).problems, 'unknown-system');
    assert.equal(p.severity, 'warning');
    assert.equal(at(text, p.span), 'x86-64-linux');
    assert.match(p.message, /Did you mean x86_64-linux\?/);
    assert.deepEqual(p.data, { suggestion: 'x86_64-linux' });
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p, 'problems stay plain JSON');
  });

  test('a made-up system with no near known one is a warning without a suggestion', () => {
    const p = one(lint('builder my-laptop').problems, 'unknown-system');
    assert.equal(p.data, undefined);
    assert.match(p.message, /x86_64-linux or aarch64-darwin/);
  });

  test('known systems, `builtin`, `-` and no column 2 are fine', () => {
    assert.deepEqual(codes(lint('a x86_64-linux,aarch64-darwin,builtin ; b - ; c').problems), []);
  });
});

describe('maxJobs and speedFactor (columns 4 and 5)', () => {
  test('maxJobs 0 is a warning: Nix accepts it and never gives the machine a job', () => {
    const text = 'builder x86_64-linux - 0';
    const p = one(lint(text).problems, 'max-jobs-zero');
    assert.equal(at(text, p.span), '0');
    assert.match(p.message, /never gives it a job/);
  });

  test("maxJobs 1, `-` and +0-free values are fine; a non-number is the parser's error, not repeated", () => {
    assert.deepEqual(codes(lint('a - - 1 ; b - - - ; c - - 007').problems), []);
    const { parsed, problems } = lint('a - - x');
    assert.deepEqual(codes(parsed.problems), ['max-jobs-not-integer']);
    assert.deepEqual(codes(problems), []);
  });

  test('speedFactor 0 is a warning that says Nix makes it 1, on integer and on float Nix', () => {
    for (const [context, text] of [
      [nix28, 'a - - 1 0'],
      [nix224, 'a - - 1 0'],
      [nix224, 'a - - 1 0.0'],
    ] as const) {
      const p = one(lint(text, context).problems, 'speed-factor-zero');
      assert.equal(at(text, p.span), text.split(' ')[4]);
      assert.match(p.message, /reads 0 as 1/);
    }
  });

  test("a fractional speedFactor is only information on Nix ≥ 2.20 (older Nix rejects it); on 2.8 it is the parser's error alone", () => {
    const text = 'a - - 1 1.5';
    const p = one(lint(text, nix224).problems, 'speed-factor-fraction');
    assert.equal(p.severity, 'information');
    assert.equal(at(text, p.span), '1.5');
    assert.match(p.message, /Nix 2\.20 and later/);
    const { parsed, problems } = lint(text, nix28);
    assert.deepEqual(codes(parsed.problems), ['speed-factor-invalid']);
    assert.deepEqual(codes(problems), []);
    assert.deepEqual(codes(lint('a - - 1 2', nix224).problems), [], 'a whole number is not a fraction');
  });
});

describe('features (columns 6 and 7)', () => {
  test('a near miss of a well-known feature is a warning with the right spelling: big_parallel, nixos-tests, KVM', () => {
    const text = 'a x86_64-linux - 1 1 big_parallel,nixos-tests,KVM';
    const problems = lint(text).problems.filter((p) => p.code === 'unknown-feature');
    assert.deepEqual(
      problems.map((p) => [at(text, p.span), p.data?.suggestion]),
      [
        ['big_parallel', 'big-parallel'],
        ['nixos-tests', 'nixos-test'],
        ['KVM', 'kvm'],
      ],
    );
  });

  test('well-known and custom features (gpu, cuda, sm_86) are fine', () => {
    assert.deepEqual(codes(lint('a x86_64-linux - 1 1 kvm,big-parallel,gpu,cuda,sm_86,uid-range').problems), []);
  });

  test('mandatory features are information: only derivations requiring all of them come here', () => {
    const text = 'a x86_64-linux - 1 1 kvm benchmark,big-parallel';
    const p = one(lint(text).problems, 'mandatory-without-need');
    assert.equal(p.severity, 'information');
    assert.equal(at(text, p.span), 'benchmark,big-parallel');
    assert.match(p.message, /include all of benchmark and big-parallel/);
    assert.deepEqual(codes(lint('a x86_64-linux - 1 1 kvm -').problems), []);
  });

  test('a misspelt mandatory feature is a warning too', () => {
    const text = 'a x86_64-linux - 1 1 - nixos_test';
    const p = one(lint(text).problems, 'unknown-feature');
    assert.equal(at(text, p.span), 'nixos_test');
    assert.match(p.message, /none do/);
  });
});

describe('host key (column 8)', () => {
  let blob = '';
  let line = '';
  before(() => {
    const key = path.join(dir, 'host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'root@builder', '-f', key]);
    line = fs.readFileSync(`${key}.pub`, 'utf8').trim();
    blob = line.split(' ')[1]!;
  });

  test('a column-8 key that is the raw AAAA… part is a warning: Nix accepts it, ssh refuses the host', () => {
    const text = `a x86_64-linux - 1 1 - - ${blob}`;
    const p = one(lint(text).problems, 'host-key-raw');
    assert.equal(at(text, p.span), blob);
    assert.match(p.message, /bare ssh-ed25519 key \(SHA256:/);
    assert.match(p.message, /Host key verification failed/);
    const wrapped = p.data?.suggestion;
    assert.ok(wrapped !== undefined);
    assert.equal(Buffer.from(wrapped, 'base64').toString(), line.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(codes(lint(`a x86_64-linux - 1 1 - - ${wrapped}`).problems), [], 'the suggestion is itself fine');
  });

  test('base64 of the whole .pub line (with its comment) is what Nix wants: no warning', () => {
    assert.deepEqual(codes(lint(`a - - - - - - ${Buffer.from(`${line}\n`).toString('base64')}`).problems), []);
  });

  test('base64 of something that is not a key line is a warning that shows what it decodes to', () => {
    const text = `a - - - - - - ${Buffer.from('hello world\n').toString('base64')}`;
    const p = one(lint(text).problems, 'host-key-not-a-key');
    assert.match(p.message, /decodes to 'hello world'/);
    assert.match(one(lint('a - - - - - - QUFB').problems, 'host-key-not-a-key').message, /decodes to 'AAA'/);
    assert.match(one(lint('a - - - - - - //79').problems, 'host-key-not-a-key').message, /binary data/);
  });

  test("text Nix refuses as base64 is only the parser's error", () => {
    const { parsed, problems } = lint('a - - - - - - ssh-ed25519');
    assert.deepEqual(codes(parsed.problems), ['host-key-not-base64']);
    assert.deepEqual(codes(problems), []);
  });
});

describe('extra columns', () => {
  test('columns past the eighth are one warning spanning all of them: Nix ignores them silently', () => {
    const text = 'a x86_64-linux - 1 1 - - -  root@host   note';
    const p = one(lint(text).problems, 'extra-columns');
    assert.equal(at(text, p.span), 'root@host   note');
    assert.match(p.message, /ignores the rest without a word: 'root@host note'/);
    assert.deepEqual(codes(lint('a x86_64-linux - 1 1 - - -').problems), []);
  });
});

describe('store URI (column 1)', () => {
  test('binary caches, local stores and unknown schemes are warnings: Nix cannot build there', () => {
    const cases: [string, RegExp][] = [
      ['http://cache.example', /binary cache/],
      ['https://cache.nixos.org', /binary cache/],
      ['file:///srv/cache', /binary cache/],
      ['s3://bucket', /binary cache/],
      ['local', /on this machine.*waits forever/],
      ['auto', /on this machine.*waits forever/],
      ['daemon', /on this machine/],
      ['unix:///run/nix.sock', /on this machine/],
      ['/srv/store', /on this machine/],
      ['user@host/x', /reads 'user@host\/x' as a directory/],
    ];
    for (const [uri, message] of cases) {
      const text = `${uri} x86_64-linux`;
      const p = one(lint(text).problems, 'store-uri-unusable');
      assert.equal(at(text, p.span), uri);
      assert.match(p.message, message, uri);
      assert.match(p.message, /ssh:\/\/user@host or ssh-ng:\/\/user@host/);
    }
  });

  test('a misspelt scheme is a warning quoting Nix ("don\'t know how to open Nix store"), with the fixed URI as data', () => {
    const text = 'shh://nix@builder?compress=true x86_64-linux';
    const p = one(lint(text).problems, 'store-uri-unusable');
    assert.equal(p.nixMessage, "don't know how to open Nix store 'shh://nix@builder?compress=true'");
    assert.match(p.message, /Did you mean ssh:\/\/\?/);
    assert.deepEqual(p.data, { suggestion: 'ssh://nix@builder?compress=true' });
    assert.deepEqual(one(lint('sshng://b').problems, 'store-uri-unusable').data, { suggestion: 'ssh-ng://b' });
  });

  test('ssh://, ssh-ng:// and a bare host are fine', () => {
    assert.deepEqual(
      codes(lint('ssh://a ; ssh-ng://nix@b ; c ; nix@d?compress=true ; ssh://nix@e?ssh-key=/k ; ssh://[::1]').problems),
      [],
    );
  });

  test('a bare host with a `/` in its parameters is not a host to Nix (no ssh:// is added): a warning with ssh:// put in front', () => {
    const text = 'nix@d?ssh-key=/root/.ssh/k x86_64-linux';
    const p = one(lint(text).problems, 'store-uri-unusable');
    assert.equal(p.nixMessage, "don't know how to open Nix store 'nix@d?ssh-key=/root/.ssh/k'");
    assert.deepEqual(p.data, { suggestion: 'ssh://nix@d?ssh-key=/root/.ssh/k' });
  });

  test("`ssh://` with no host is a warning quoting Nix's refusal", () => {
    const p = one(lint('ssh:// x86_64-linux').problems, 'store-uri-unusable');
    assert.equal(p.nixMessage, "invalid SSH host name ''");
  });

  test('a host starting with `-` is a warning: Nix 2.8 refuses it when it connects ("invalid SSH host name")', () => {
    for (const [uri, host] of [
      ['-oProxyCommand=x', '-oProxyCommand=x'],
      ['ssh://-V', '-V'],
      ['ssh-ng://-V?compress=true', '-V'],
    ]) {
      const text = `${uri} x86_64-linux`;
      const p = one(lint(text).problems, 'host-starts-with-dash');
      assert.equal(at(text, p.span), host);
      assert.equal(p.nixMessage, `invalid SSH host name '${host}'`);
    }
  });

  test('after `user@`, a host starting with `-` reaches ssh, which refuses it: a warning quoting that', () => {
    const text = 'ssh://nix@-V';
    const p = one(lint(text).problems, 'host-starts-with-dash');
    assert.equal(at(text, p.span), '-V');
    assert.equal(p.nixMessage, "cannot connect to 'nix@-V': hostname contains invalid characters");
  });

  test('a user starting with `-` makes Nix refuse the whole `user@host`', () => {
    const text = 'ssh://-nix@host';
    const p = one(lint(text).problems, 'host-starts-with-dash');
    assert.equal(at(text, p.span), '-nix');
    assert.equal(p.nixMessage, "invalid SSH host name '-nix@host'");
  });

  test('a `-` inside a host name is fine', () => {
    assert.deepEqual(codes(lint('build-01 ; ssh://nix@build-02').problems), []);
  });
});

describe('a port in the store URI', () => {
  const nix230 = contextFor(v(2, 30));
  const nix231 = contextFor(v(2, 31));

  test('`host:port` before Nix 2.31 is a warning on the `:port`: ssh gets it as part of the host name', () => {
    for (const uri of ['nix@builder:2222', 'ssh://nix@builder:2222', 'ssh-ng://builder:2222?compress=true']) {
      const text = `${uri} x86_64-linux`;
      const p = one(lint(text, nix230).problems, 'port-in-uri');
      assert.equal(at(text, p.span), ':2222');
      assert.match(p.message, /Before Nix 2\.31/);
      assert.match(p.message, /"Host builder" with "Port 2222"/);
    }
  });

  test('from Nix 2.31 the port reaches ssh: no warning', () => {
    assert.deepEqual(codes(lint('nix@builder:2222 ; ssh://[fe80::1]:22', nix231).problems), []);
  });

  test('a bracketed IPv6 address with a port is a port; a bare IPv6 address is not', () => {
    const text = 'ssh://[fe80::1]:22';
    assert.equal(at(text, one(lint(text, nix230).problems, 'port-in-uri').span), ':22');
    assert.deepEqual(codes(lint('ssh://fe80::1 ; ssh://[fe80::1]', nix230).problems), []);
  });

  test('the message says where ssh_config is for the daemon (root) and for a single-user install', () => {
    assert.match(one(lint('b:22', nix28).problems, 'port-in-uri').message, /root's ~\/\.ssh\/config/);
    assert.doesNotMatch(
      one(lint('b:22', contextFor(nix2_8, { daemon: false })).problems, 'port-in-uri').message,
      /root/,
    );
  });
});

describe('the same machine twice', () => {
  test('the same store URI as Nix reads it (`b` is `ssh://b`) twice is a warning on the second, pointing at the first', () => {
    const text = 'b x86_64-linux - 2\nssh://b aarch64-linux - 4';
    const p = one(lint(text).problems, 'duplicate-machine');
    assert.equal(at(text, p.span), 'ssh://b');
    assert.match(p.message, /ssh:\/\/b is already a builder earlier \('b x86_64-linux - 2'\)/);
    assert.match(p.message, /together at most 4 builds/);
    assert.equal(at(text, p.data?.related?.span), 'b');
    assert.equal(p.data?.related?.file, undefined);
  });

  test('ssh:// and ssh-ng:// to one host, or another user, are different machines', () => {
    assert.deepEqual(codes(lint('ssh://b ; ssh-ng://b ; nix@b').problems), []);
  });

  test('a third copy also points at the first', () => {
    const text = 'b ; b ; b';
    const problems = lint(text).problems.filter((p) => p.code === 'duplicate-machine');
    assert.deepEqual(
      problems.map((p) => [p.span.start, p.data?.related?.span.start]),
      [
        [4, 0],
        [8, 0],
      ],
    );
  });
});

describe('included files', () => {
  test('an `@file` that does not exist is a warning on the entry, with the path as data for a "create file" fix', () => {
    const missing = path.join(dir, 'no-such-machines');
    const text = `a\n@${missing}`;
    const p = one(lint(text, nix28, { readFile: readFileLikeNix(dir) }).problems, 'include-missing');
    assert.equal(at(text, p.span), `@${missing}`);
    assert.deepEqual(p.data, { path: missing });
    assert.match(p.message, /skips it silently, so no builders come from it/);
  });

  test("an `@file` that exists gives no warning of its own; one that cannot be read is the parser's error only", () => {
    const file = path.join(dir, 'machines-ok');
    fs.writeFileSync(file, 'b x86_64-linux\n');
    assert.deepEqual(codes(lint(`@${file}`, nix28, { readFile: readFileLikeNix(dir) }).problems), []);
    const { parsed, problems } = lint(`@${dir}`, nix28, { readFile: readFileLikeNix(dir) });
    assert.deepEqual(codes(parsed.problems), ['include-unreadable']);
    assert.deepEqual(codes(problems), []);
  });

  test('a problem inside an included file is shown on the `@file` entry, with file and fileSpan', () => {
    const inner = path.join(dir, 'machines-inner');
    const innerText = 'c - - 1\nb x86-64-linux - 0\n';
    fs.writeFileSync(inner, innerText);
    const text = `a\n@${inner}`;
    const problems = lint(text, nix28, { readFile: readFileLikeNix(dir) }).problems;
    assert.deepEqual(codes(problems), ['unknown-system', 'max-jobs-zero']);
    for (const p of problems) {
      assert.equal(at(text, p.span), `@${inner}`);
      assert.equal(p.file, inner);
      assert.ok(p.message.startsWith(`In ${inner}: `));
    }
    assert.deepEqual(
      problems.map((p) => at(innerText, p.fileSpan)),
      ['x86-64-linux', '0'],
    );
  });

  test('a missing `@file` inside an included file is shown on the top-level `@file`', () => {
    const outer = path.join(dir, 'machines-outer');
    const missing = path.join(dir, 'machines-missing');
    const outerText = `b\n@${missing}\n`;
    fs.writeFileSync(outer, outerText);
    const text = `@${outer}`;
    const p = one(lint(text, nix28, { readFile: readFileLikeNix(dir) }).problems, 'include-missing');
    assert.equal(at(text, p.span), text);
    assert.equal(p.file, outer);
    assert.equal(at(outerText, p.fileSpan), `@${missing}`);
  });

  test('a duplicate of a machine from an included file points at that file', () => {
    const inner = path.join(dir, 'machines-dup');
    fs.writeFileSync(inner, 'b x86_64-linux\n');
    const text = `@${inner}\nb aarch64-linux`;
    const p = one(lint(text, nix28, { readFile: readFileLikeNix(dir) }).problems, 'duplicate-machine');
    assert.equal(at(text, p.span), 'b');
    assert.equal(p.data?.related?.file, inner);
    assert.match(p.message, new RegExp(`earlier, in ${inner}`));
  });
});

describe('SSH key (column 3)', () => {
  let plain = '';
  let encrypted = '';
  before(() => {
    plain = path.join(dir, 'id_plain');
    encrypted = path.join(dir, 'id_encrypted');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plain]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret passphrase', '-f', encrypted]);
  });
  const keyText = (key: string) => `b x86_64-linux ${key} 1`;

  test('an unencrypted private key with mode 600 is fine', () => {
    assert.deepEqual(codes(lint(keyText(plain)).problems), []);
  });

  test('a key with a passphrase is a warning: the daemon (root) cannot prompt, and ssh-agent does not help it', () => {
    const text = keyText(encrypted);
    const p = one(lint(text).problems, 'ssh-key-encrypted');
    assert.equal(at(text, p.span), encrypted);
    assert.match(p.message, /runs ssh as root without a terminal/);
    assert.match(p.message, /ssh-agent does not help/);
    assert.match(p.message, /without a passphrase, dedicated to builds/);
    assert.doesNotMatch(p.message, /secret passphrase/);
  });

  test('for a single-user install the passphrase message does not talk about root', () => {
    const p = one(lint(keyText(encrypted), contextFor(nix2_8, { daemon: false })).problems, 'ssh-key-encrypted');
    assert.doesNotMatch(p.message, /root/);
    assert.match(p.message, /ssh-agent/);
  });

  test('a key file that does not exist is a warning: ssh falls back to its default keys', () => {
    const missing = path.join(dir, 'id_missing');
    const p = one(lint(keyText(missing)).problems, 'ssh-key-missing');
    assert.match(p.message, /does not exist/);
    assert.match(p.message, /Permission denied \(publickey\)/);
  });

  test("`~` is expanded with keyHome: root's home under the daemon, and the message says so", () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    fs.copyFileSync(plain, path.join(home, '.ssh', 'id_ed25519'));
    fs.chmodSync(path.join(home, '.ssh', 'id_ed25519'), 0o600);
    assert.deepEqual(codes(lint(keyText('~/.ssh/id_ed25519'), contextFor(nix2_8, { keyHome: home })).problems), []);
    const p = one(lint(keyText('~/.ssh/other'), contextFor(nix2_8, { keyHome: home })).problems, 'ssh-key-missing');
    assert.match(p.message, new RegExp(`'~/.ssh/other' \\(${home}/.ssh/other: ~ is root's home`));
  });

  test('the .pub file instead of the private key is a warning', () => {
    const p = one(lint(keyText(`${plain}.pub`)).problems, 'ssh-key-not-private');
    assert.match(p.message, /not the \.pub/);
    const notAKey = path.join(dir, 'not-a-key');
    fs.writeFileSync(notAKey, 'hello\n', { mode: 0o600 });
    one(lint(keyText(notAKey)).problems, 'ssh-key-not-private');
  });

  test('a directory is a warning: ssh cannot read it', () => {
    const p = one(lint(keyText(dir)).problems, 'ssh-key-unreadable');
    assert.match(p.message, /it is a directory/);
  });

  test('a key others can read is a warning: ssh ignores it ("bad permissions"), for the user ssh runs as', () => {
    const open = path.join(dir, 'id_open');
    fs.copyFileSync(plain, open);
    fs.chmodSync(open, 0o644);
    // Single-user: ssh runs as us, the owner.
    const p = one(lint(keyText(open), contextFor(nix2_8, { daemon: false })).problems, 'ssh-key-permissions');
    assert.match(p.message, /mode 0644/);
    assert.match(p.message, /chmod 600/);
    if (process.getuid?.() === 0) one(lint(keyText(open)).problems, 'ssh-key-permissions'); // the daemon's root owns it too
  });

  test(
    'a key owned by another user than the one ssh runs as is not refused for its mode (ssh checks only its own keys)',
    {
      skip: process.getuid?.() !== 0 && 'needs root to give the file away',
    },
    () => {
      const open = path.join(dir, 'id_open_nobody');
      fs.copyFileSync(plain, open);
      fs.chmodSync(open, 0o644);
      fs.chownSync(open, 65534, 65534);
      assert.deepEqual(codes(lint(keyText(open)).problems), []);
    },
  );

  test('a relative key path is not checked: it is relative to wherever ssh runs', () => {
    assert.deepEqual(codes(lint(keyText('keys/id_builder')).problems), []);
  });

  test('a key file is read once however many machines use it', () => {
    const missing = path.join(dir, 'id_shared_missing');
    const problems = lint(`a - ${missing} ; b - ${missing}`).problems;
    assert.deepEqual(codes(problems), ['ssh-key-missing', 'ssh-key-missing']);
  });
});

describe('in a nix.conf builders line', () => {
  test('spans point at the text in the line as written, however it is spaced', () => {
    const text = 'builders =   a  x86-64-linux ;\tb - -   0 \n';
    const problems = lintNixConf(parseNixConf(text, nix28.rules, { path: '/etc/nix/nix.conf' }), nix28);
    assert.deepEqual(
      problems.map((p) => [p.code, at(text, p.span)]),
      [
        ['unknown-system', 'x86-64-linux'],
        ['max-jobs-zero', '0'],
      ],
    );
  });
});

test('problems come in text order', () => {
  const text = 'b:22 x86-64-linux - 0 0\nb:22';
  const problems = lint(text).problems;
  assert.deepEqual(
    problems.map((p) => p.span.start),
    [...problems.map((p) => p.span.start)].sort((a, b) => a - b),
  );
  assert.deepEqual(codes(problems), [
    'port-in-uri',
    'unknown-system',
    'max-jobs-zero',
    'speed-factor-zero',
    'duplicate-machine',
    'port-in-uri',
  ]);
});

test('every message says what to do: no message ends without advice', () => {
  const text = 'http://x ; b:22 x86-64-linux /nonexistent/key 0 0 big_parallel kvm QUFB extra ; b:22 ; ssh://-V';
  for (const p of lint(text, nix28, { readFile: () => undefined }).problems) {
    assert.match(
      p.message,
      /\b(use|put|fix|remove|merge|did you mean|create|replace|move|write|add|chmod|ssh-keygen)\b/i,
      `${p.code}: ${p.message}`,
    );
  }
});

describe('an @file after a space', () => {
  test('is a machine named @file on Nix 2.8, not an include: a warning says to remove the space', () => {
    const text = 'ssh://a x86_64-linux ; @/etc/nix/machines';
    const { parsed, problems } = lint(text);
    assert.deepEqual(
      parsed.machines.map((m) => m.columns.storeUri.text),
      ['ssh://a', '@/etc/nix/machines'],
    );
    const warning = one(problems, 'include-after-space');
    assert.equal(at(text, warning.span), '@/etc/nix/machines');
    assert.equal(problems.filter((p) => p.code === 'store-uri-unusable').length, 0, 'one warning, not two');
  });

  test('is an include on Nix 2.29 and later, which trims entries', () => {
    const { parsed, problems } = lint('ssh://a x86_64-linux ; @/nonexistent/machines', contextFor(v(2, 29)));
    assert.equal(parsed.machines.length, 1);
    assert.equal(problems.filter((p) => p.code === 'include-after-space').length, 0);
  });
});
