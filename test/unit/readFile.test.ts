// Reading the files a machines file or nix.conf names: a FIFO, a device or a socket is never
// opened (a FIFO would block this very test), a file over 16 MiB is not read, and where Nix
// reports an error its own words are kept (checked against real Nix for the socket).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { maxIncludedFileSize, readFileAsNixDoes } from '../../server/src/context/readFile';
import { FileNotRead } from '../../server/src/model/fileNotRead';
import { inspectIdentityFile } from '../../server/src/model/identityFile';
import { parseBuilders } from '../../server/src/model/machines';
import { parseNixConf } from '../../server/src/model/nixConf';
import { nix2_8, rulesFor } from '../../server/src/model/nixVersion';
import { askNixAboutBuilders } from '../helpers/nix';
import { requireRealNix } from '../helpers/requireNix';

const rules = rulesFor(nix2_8);
let dir: string;
let server: Server;
const at = (name: string) => join(dir, name);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nix-builders-readfile-'));
  execFileSync('mkfifo', [at('fifo')]);
  mkdirSync(at('directory'));
  writeFileSync(at('machines'), 'ssh://a x86_64-linux\n');
  const fd = openSync(at('huge'), 'w');
  ftruncateSync(fd, maxIncludedFileSize + 1); // sparse: nothing is written
  closeSync(fd);
  server = createServer();
  await new Promise<void>((resolve) => server.listen(at('socket'), resolve));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = (path: string) => {
  try {
    readFileAsNixDoes(path);
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('readFileAsNixDoes', () => {
  test('a regular file is read; a missing one is undefined, as Nix skips it', () => {
    assert.equal(readFileAsNixDoes(at('machines')), 'ssh://a x86_64-linux\n');
    assert.equal(readFileAsNixDoes(at('missing')), undefined);
    assert.equal(readFileAsNixDoes(at('machines/below')), undefined); // ENOTDIR
  });

  test('a FIFO and a character device are never opened: FileNotRead, not-a-file', () => {
    for (const [path, type] of [
      [at('fifo'), 'FIFO (named pipe)'],
      ['/dev/zero', 'character device'],
      ['/dev/null', 'character device'],
    ] as const) {
      const e = refusal(path);
      assert.ok(e instanceof FileNotRead, `${path}: ${String(e)}`);
      assert.deepEqual(e.reason, { kind: 'not-a-file', type });
    }
  });

  test('over 16 MiB: FileNotRead, too-large, with the size', () => {
    const e = refusal(at('huge'));
    assert.ok(e instanceof FileNotRead);
    assert.deepEqual(e.reason, { kind: 'too-large', size: maxIncludedFileSize + 1, limit: maxIncludedFileSize });
    assert.match(e.message, /is 16 MiB \(16,777,217 bytes\), over the 16 MiB read here/);
  });

  test("a directory and a socket fail with Nix's own words", () => {
    assert.equal((refusal(at('directory')) as Error).message, 'reading from file: Is a directory');
    assert.equal((refusal(at('socket')) as Error).message, `opening file '${at('socket')}': No such device or address`);
  });
});

describe('the parsers say what was not read', () => {
  test('machines: @/dev/zero and @FIFO are include-not-a-file warnings, @huge include-too-large', () => {
    const text = `@/dev/zero\n@${at('fifo')}\n@${at('huge')}\n`;
    const parsed = parseBuilders(text, rules, { readFile: readFileAsNixDoes });
    assert.deepEqual(
      parsed.includes.map((i) => i.status),
      ['not-a-file', 'not-a-file', 'too-large'],
    );
    assert.deepEqual(
      parsed.problems.map((p) => [p.code, p.severity]),
      [
        ['include-not-a-file', 'warning'],
        ['include-not-a-file', 'warning'],
        ['include-too-large', 'warning'],
      ],
    );
    assert.deepEqual(parsed.problems[0]!.span, { start: 0, end: 10 });
    assert.match(parsed.problems[1]!.message, /Nix opens it and hangs until something writes to it/);
  });

  test('machines: @socket is the Error Nix gives', () => {
    const parsed = parseBuilders(`@${at('socket')}`, rules, { readFile: readFileAsNixDoes });
    assert.equal(parsed.problems[0]!.code, 'include-unreadable');
    assert.equal(parsed.problems[0]!.nixMessage, `opening file '${at('socket')}': No such device or address`);
  });

  test('nix.conf: include of a FIFO is include-not-a-file on the path; a socket stays silent (Nix swallows it)', () => {
    const conf = parseNixConf(`include ${at('fifo')}\n!include ${at('socket')}\n`, rules, {
      path: at('nix.conf'),
      readFile: readFileAsNixDoes,
    });
    assert.deepEqual(
      conf.includes.map((i) => i.status),
      ['not-a-file', 'unreadable'],
    );
    assert.deepEqual(
      conf.problems.map((p) => p.code),
      ['include-not-a-file'],
    );
    assert.deepEqual(conf.problems[0]!.span, { start: 8, end: 8 + at('fifo').length });
  });

  test('column 3 naming /dev/zero or a FIFO: the key is unreadable, and never read', () => {
    assert.deepEqual(inspectIdentityFile('/dev/zero'), {
      kind: 'unreadable',
      path: '/dev/zero',
      reason: 'it is a character device, not a key file',
    });
    assert.equal(inspectIdentityFile(at('fifo')).kind, 'unreadable');
  });
});

const nix = requireRealNix("our reading of an @socket matches real Nix's error");
if (nix !== undefined) {
  test('real Nix: @socket fails with the error we quote', async () => {
    const caseDir = mkdtempSync(join(tmpdir(), 'nix-builders-readfile-oracle-'));
    try {
      const answer = await askNixAboutBuilders(`@${at('socket')}`, caseDir, 7301);
      assert.deepEqual(answer, { accepted: false, error: `opening file '${at('socket')}': No such device or address` });
    } finally {
      rmSync(caseDir, { recursive: true, force: true });
    }
  });
}
