// Files that would freeze or exhaust the server if it read them the naive way, even in an
// untrusted workspace: `@/dev/zero` (endless), `@fifo` (open blocks until a writer comes),
// `include /dev/zero`, and documents of pathological size. The server must keep answering
// requests, say what it did not read, and publish a bounded list of diagnostics. No assertion
// here is on wall-clock time: a request that is answered at all, with the expected outcome,
// is the point (the timeouts only turn a hang into a failure).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver-protocol';
import { LspClient } from './helpers/lspClient';

let client: LspClient;
let dir: string;
let fifo: string;

before(async () => {
  client = await LspClient.start();
  client.settings = { nixVersion: '2.8' };
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-hostile-'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
});

after(async () => {
  // A server stuck in a blocking open() never answers shutdown: do not wait for it.
  await Promise.race([client.stop(), new Promise((resolve) => setTimeout(resolve, 2000))]);
  client.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);
const codes = (diagnostics: Diagnostic[]) => diagnostics.map((d) => d.code);

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
  ]);
}

/** The server still answers a request about the document. */
async function stillAnswers(uri: string): Promise<void> {
  await within(client.symbols(uri), 15_000, 'documentSymbol');
}

describe('files that are not regular files are never opened', () => {
  test('@/dev/zero: a Warning include-not-a-file, and the server keeps answering', async () => {
    const uri = await client.open(join(dir, 'zero.machines'), 'nix-machines', 'ssh://a x86_64-linux\n@/dev/zero\n');
    const diagnostics = await client.diagnostics(uri, () => true, 20_000);
    const d = diagnostics.find((x) => x.code === 'include-not-a-file');
    assert.ok(d, JSON.stringify(diagnostics));
    assert.equal(d.severity, DiagnosticSeverity.Warning);
    assert.deepEqual(d.range, { start: { line: 1, character: 0 }, end: { line: 1, character: 10 } });
    assert.match(messageOf(d), /character device/);
    await stillAnswers(uri);
  });

  test('@FIFO: not opened (opening blocks until a writer comes), include-not-a-file', async () => {
    const uri = await client.open(join(dir, 'fifo.machines'), 'nix-machines', `@${fifo}\n`);
    const diagnostics = await client.diagnostics(uri, () => true, 20_000);
    const d = diagnostics.find((x) => x.code === 'include-not-a-file');
    assert.ok(d, JSON.stringify(diagnostics));
    assert.match(messageOf(d), /FIFO/);
    assert.match(messageOf(d), /hangs/);
    await stillAnswers(uri);
  });

  test('nix.conf `include /dev/zero`: include-not-a-file on the path', async () => {
    const uri = await client.open(join(dir, 'nix.conf'), 'nix-conf', 'include /dev/zero\nmax-jobs = 2\n');
    const diagnostics = await client.diagnostics(uri, () => true, 20_000);
    const d = diagnostics.find((x) => x.code === 'include-not-a-file');
    assert.ok(d, JSON.stringify(diagnostics));
    assert.deepEqual(d.range, { start: { line: 0, character: 8 }, end: { line: 0, character: 17 } });
    await stillAnswers(uri);
  });

  test('nix.conf `builders = @FIFO`: include-not-a-file, server answers', async () => {
    const uri = await client.open(join(dir, 'b.conf'), 'nix-conf', `builders = @${fifo}\n`);
    const diagnostics = await client.diagnostics(uri, () => true, 20_000);
    assert.ok(codes(diagnostics).includes('include-not-a-file'), JSON.stringify(diagnostics));
    await stillAnswers(uri);
  });
});

describe('pathological sizes: a bounded list, Errors first, and an end', () => {
  test('130 000 duplicate lines: diagnostics (no stack overflow), capped, with how many more', async () => {
    const text = 'ssh://same x86_64-linux\n'.repeat(130_000);
    const uri = await client.open(join(dir, 'dups.machines'), 'nix-machines', text);
    const diagnostics = await client.diagnostics(uri, () => true, 120_000);
    assert.equal(diagnostics.length, 1001);
    const last = diagnostics[diagnostics.length - 1]!;
    assert.equal(last.code, 'too-many-problems');
    assert.equal(last.severity, DiagnosticSeverity.Information);
    assert.match(messageOf(last), /128[ ,]?999 more/);
    await stillAnswers(uri);
  });

  test('a 28-byte document that includes 40 000 entries: 1 000 diagnostics and "38 800 more"', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) lines.push(`ssh://host-${i % 200} x86_64-linux - 4 1`);
    writeFileSync(join(dir, 'wide'), `${lines.join('\n')}\n`);
    const uri = await client.open(join(dir, 'wide.machines'), 'nix-machines', `@${join(dir, 'wide')}`);
    const diagnostics = await client.diagnostics(uri, () => true, 120_000);
    assert.equal(diagnostics.length, 1001);
    assert.equal(diagnostics.filter((d) => d.code === 'duplicate-machine').length, 1000);
    assert.match(messageOf(diagnostics[1000]!), /38[ ,]?800 more/);
    // Each duplicate still points into the included file.
    assert.ok(diagnostics[0]!.relatedInformation?.[0]?.location.uri.endsWith('/wide'));
    await stillAnswers(uri);
  });

  test("a 100 000-line nix.conf: capped; Nix's rejection (an Error at the very end) is kept", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) lines.push(i % 2 ? `buidlers${i} = x` : `builders = ssh://b${i} x86_64-linux`);
    lines.push('max-jobs = four');
    const uri = await client.open(join(dir, 'long.conf'), 'nix-conf', `${lines.join('\n')}\n`);
    const diagnostics = await client.diagnostics(uri, () => true, 120_000);
    assert.equal(diagnostics.length, 1001);
    assert.equal(diagnostics[0]!.severity, DiagnosticSeverity.Error, JSON.stringify(diagnostics[0]));
    assert.equal(diagnostics[0]!.code, 'conf-invalid-value');
    assert.match(messageOf(diagnostics[1000]!), /49[ ,]?001 more/);
    await stillAnswers(uri);
  });

  test('two quick edits of a long document: the last version is published, never overtaken by a stale one', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(`buidlers${i} = x`);
    const text = `${lines.join('\n')}\n`;
    const uri = await client.open(join(dir, 'edits.conf'), 'nix-conf', text);
    await client.change(uri, `max-jobs = one\n${text}`);
    const version = await client.change(uri, `# two\nmax-jobs = two\n${text}`);
    const diagnostics = await client.diagnostics(uri, (p) => p.version === version, 120_000);
    assert.equal(diagnostics[0]!.code, 'conf-invalid-value');
    assert.equal(diagnostics[0]!.range.start.line, 1, 'the error of the last version');
    // A stale version is dropped when the newer one is read before its publish; in any case
    // nothing older is ever published after something newer.
    const versions = client.publishes(uri).map((p) => p.version ?? 0);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
      `publishes out of order: ${versions.join(', ')}`,
    );
    await stillAnswers(uri);
  });
});

describe('nix-builders check on the same files exits promptly with the diagnostic', () => {
  const cli = join(__dirname, '../../dist/cli.js');
  const check = (args: string[]) =>
    spawnSync(process.execPath, [cli, 'check', '--nix-version', '2.8', ...args], { encoding: 'utf8', timeout: 30_000 });

  test('a machines file with @/dev/zero and @FIFO', () => {
    const file = join(dir, 'check.machines');
    writeFileSync(file, `@/dev/zero\n@${fifo}\n`);
    const result = check([file]);
    assert.equal(result.signal, null, 'killed by the timeout: it hung');
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`^${file}:1:1: warning include-not-a-file `, 'm'));
    assert.match(result.stdout, new RegExp(`^${file}:2:1: warning include-not-a-file `, 'm'));
  });

  test('a nix.conf with include /dev/zero', () => {
    const file = join(dir, 'check.conf');
    writeFileSync(file, 'include /dev/zero\n');
    const result = check([file]);
    assert.equal(result.signal, null, 'killed by the timeout: it hung');
    assert.match(result.stdout, new RegExp(`^${file}:1:9: warning include-not-a-file `, 'm'));
  });

  test('FILE itself a FIFO or /dev/zero: not read, said why', () => {
    const result = check([fifo, '/dev/zero']);
    assert.equal(result.signal, null, 'killed by the timeout: it hung');
    assert.equal(result.status, 1);
    assert.match(result.stdout, new RegExp(`^${fifo}: error unreadable .*FIFO`, 'm'));
    assert.match(result.stdout, /^\/dev\/zero: error unreadable .*character device/m);
  });
});
