// The connection pool's bookkeeping (with stand-in connections; the system test uses real ones)
// and the keyring's handling of encrypted keys (with keys made by real ssh-keygen).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { utils, type ParsedKey } from 'ssh2';
import type { ConnectResult } from '../../server/src/ssh/connect';
import { Keyring, publicKeyOfOpenSshPrivateKey } from '../../server/src/ssh/keyring';
import { ConnectionPool, poolKey } from '../../server/src/ssh/pool';
import { hasCommand, skipWithout } from '../helpers/realTools';
import { fakeConnection } from './helpers/standInConnection';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('connection pool', () => {
  test('concurrent requests for one key share one connect in flight', async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    let opens = 0;
    const open = async (): Promise<ConnectResult> => {
      opens++;
      await wait(30);
      return { ok: true, connection: fakeConnection(), stages: [] };
    };
    const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire('k', open)));
    assert.equal(opens, 1);
    assert.ok(leases.every((lease) => lease.ok));
    const connections = new Set(leases.map((lease) => lease.ok && lease.lease.connection));
    assert.equal(connections.size, 1);
    assert.deepEqual(
      leases.map((lease) => lease.ok && lease.lease.reused),
      [false, true, true, true, true],
    );
    assert.deepEqual(pool.stats(), { opened: 1, reused: 4, closedIdle: 0, open: 1 });
    for (const lease of leases) if (lease.ok) lease.lease.release();
    await pool.close();
  });

  test('an idle connection is closed after idleMs; in use, it is not', async () => {
    const pool = new ConnectionPool({ idleMs: 40 });
    const connection = fakeConnection();
    const first = await pool.acquire('k', async () => ({ ok: true, connection, stages: [] }));
    assert.ok(first.ok);
    await wait(80);
    assert.equal(connection.closed, false, 'a connection in use is never closed for idleness');
    first.lease.release();
    first.lease.release(); // idempotent
    await wait(80);
    assert.equal(connection.closed, true);
    assert.equal(pool.stats().closedIdle, 1);
    let opens = 0;
    const again = await pool.acquire('k', async () => {
      opens++;
      return { ok: true, connection: fakeConnection(), stages: [] };
    });
    assert.equal(opens, 1, 'a closed connection is not handed out again');
    if (again.ok) again.lease.release();
    await pool.close();
  });

  test('a failed connect is not kept; a dropped connection is forgotten', async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    const failed = await pool.acquire('k', async () => ({
      ok: false,
      failure: { code: 'connection-refused', cause: 'refused', fix: 'start sshd' },
      stages: [],
    }));
    assert.equal(failed.ok, false);
    const connection = fakeConnection();
    const ok = await pool.acquire('k', async () => ({ ok: true, connection, stages: [] }));
    assert.ok(ok.ok);
    connection.close(); // the server went away
    let opens = 0;
    const next = await pool.acquire('k', async () => {
      opens++;
      return { ok: true, connection: fakeConnection(), stages: [] };
    });
    assert.equal(opens, 1);
    assert.ok(next.ok && !next.lease.reused);
    await pool.close();
  });

  test("a connect started ahead (tentative) that fails is not its joiners' failure: they open their own", async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    let refuse: () => void = () => undefined;
    // Ahead: no passphrase could be asked, so the key is refused.
    const ahead = pool.acquire(
      'k',
      () =>
        new Promise<ConnectResult>((resolve) => {
          refuse = () =>
            resolve({ ok: false, failure: { code: 'auth-failed', cause: 'no key accepted', fix: '' }, stages: [] });
        }),
      { tentative: true },
    );
    let opened = 0;
    // The build's own request, with the prompt, joins the connect in flight.
    const own = pool.acquire('k', async () => {
      opened++;
      return { ok: true, connection: fakeConnection(), stages: [] };
    });
    refuse();
    assert.equal((await ahead).ok, false);
    const result = await own;
    assert.ok(result.ok, 'the joiner opened its own connection');
    assert.equal(opened, 1);
    if (result.ok) result.lease.release();
    await pool.close();
  });

  test('a request that joins an ordinary connect shares its failure (one attempt, not two)', async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    let refuse: () => void = () => undefined;
    const first = pool.acquire(
      'k',
      () =>
        new Promise<ConnectResult>((resolve) => {
          refuse = () =>
            resolve({ ok: false, failure: { code: 'connection-refused', cause: 'refused', fix: '' }, stages: [] });
        }),
    );
    let opened = 0;
    const joined = pool.acquire('k', async () => {
      opened++;
      return { ok: true, connection: fakeConnection(), stages: [] };
    });
    refuse();
    assert.equal((await first).ok, false);
    assert.equal((await joined).ok, false);
    assert.equal(opened, 0);
    await pool.close();
  });
  test('a discarded connection is closed and forgotten at once, even while others hold it', async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    const connection = fakeConnection();
    const first = await pool.acquire('k', async () => ({ ok: true, connection, stages: [] }));
    const second = await pool.acquire('k', async () => assert.fail('shares the open connection'));
    assert.ok(first.ok && second.ok);
    first.lease.discard(); // e.g. the builder's sshd refused to start another command on it
    first.lease.discard(); // idempotent
    assert.equal(connection.closed, true);
    assert.equal(pool.stats().open, 0);
    second.lease.release(); // the other holder gives it back later: nothing to do
    let opens = 0;
    const next = await pool.acquire('k', async () => {
      opens++;
      return { ok: true, connection: fakeConnection(), stages: [] };
    });
    assert.equal(opens, 1, 'the next request opens a new connection');
    assert.ok(next.ok && !next.lease.reused);
    if (next.ok) next.lease.release();
    await pool.close();
  });

  test('adopt keeps a connection idle for reuse; close() closes everything', async () => {
    const pool = new ConnectionPool({ idleMs: 1000 });
    const connection = fakeConnection();
    pool.adopt('k', connection);
    const lease = await pool.acquire('k', async () => assert.fail('must reuse the adopted connection'));
    assert.ok(lease.ok && lease.lease.reused && lease.lease.connection === connection);
    await pool.close();
    assert.equal(connection.closed, true);
    const after = await pool.acquire('k', async () => ({ ok: true, connection: fakeConnection(), stages: [] }));
    assert.equal(after.ok, false);
  });

  test('the key is the resolved user, host, port, first key and hops', () => {
    const base = { user: 'nix', hostName: '10.0.0.1', port: 22, proxyJump: [] as string[], identityFiles: ['/k'] };
    assert.equal(poolKey(base), poolKey({ ...base }));
    assert.notEqual(poolKey(base), poolKey({ ...base, port: 2222 }));
    assert.notEqual(poolKey(base), poolKey({ ...base, identityFiles: ['/other'] }));
    assert.notEqual(poolKey(base), poolKey({ ...base, proxyJump: ['jump'] }));
  });
});

const noKeygen = skipWithout(hasCommand('ssh-keygen', ['-?']), 'ssh-keygen', 'openssh-client');

describe('keyring: encrypted keys', { skip: noKeygen }, () => {
  let dir: string;
  const passphrase = 'correct horse';
  before(() => {
    dir = fs.mkdtempSync(path.join(tmpdir(), 'nixrb-keyring-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'enc', '-f', path.join(dir, 'enc')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'plain', '-f', path.join(dir, 'plain')]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const identities = (keyring: Keyring) =>
    new Promise<ParsedKey[]>((resolve, reject) =>
      keyring.getIdentities((error, keys) => (error ? reject(error) : resolve((keys ?? []) as ParsedKey[]))),
    );
  const sign = (keyring: Keyring, key: ParsedKey) =>
    new Promise<Buffer | Error>((resolve) =>
      keyring.sign(key, Buffer.from('data'), {}, (error, signature) => resolve(error ?? signature!)),
    );

  test('the public half of an encrypted OpenSSH key is read without its passphrase (= the .pub file)', () => {
    const blob = publicKeyOfOpenSshPrivateKey(fs.readFileSync(path.join(dir, 'enc'), 'latin1'));
    const pub = fs.readFileSync(path.join(dir, 'enc.pub'), 'utf8').split(' ')[1];
    assert.equal(blob?.toString('base64'), pub);
  });

  test('an encrypted key is offered by its public half; the passphrase is asked only to sign', async () => {
    const asked: string[] = [];
    const keyring = new Keyring({
      identityFiles: [path.join(dir, 'missing'), path.join(dir, 'enc'), path.join(dir, 'plain')],
      identitiesOnly: true,
      askPassphrase: async (file) => {
        asked.push(file);
        return passphrase;
      },
    });
    const keys = await identities(keyring);
    assert.equal(keys.length, 2);
    assert.deepEqual(asked, [], 'no passphrase is asked before the server accepts the key');
    const signature = await sign(keyring, keys[0]!);
    assert.ok(Buffer.isBuffer(signature));
    assert.deepEqual(asked, [path.join(dir, 'enc')]);
    const pub = utils.parseKey(fs.readFileSync(path.join(dir, 'enc.pub'))) as ParsedKey;
    assert.ok(pub.verify(Buffer.from('data'), signature as Buffer));
    assert.deepEqual(
      keyring.reports().map((report) => [path.basename(report.source), report.state]),
      [
        ['missing', 'missing'],
        ['enc', 'signed'],
        ['plain', 'offered'],
      ],
    );
  });

  test('no passphrase, or a wrong one: the key is reported, never opened', async () => {
    const none = new Keyring({ identityFiles: [path.join(dir, 'enc')], identitiesOnly: true });
    const [key] = await identities(none);
    assert.ok((await sign(none, key!)) instanceof Error);
    assert.equal(none.reports()[0]!.state, 'encrypted-no-passphrase');
    let attempts = 0;
    const wrong = new Keyring({
      identityFiles: [path.join(dir, 'enc')],
      identitiesOnly: true,
      askPassphrase: async () => (++attempts <= 3 ? 'wrong' : undefined),
    });
    const [again] = await identities(wrong);
    const result = await sign(wrong, again!);
    assert.ok(result instanceof Error);
    assert.ok(!result.message.includes('wrong'), 'the passphrase never appears in an error');
    assert.equal(attempts, 3, 'three tries, as ssh gives');
    assert.equal(wrong.reports()[0]!.state, 'wrong-passphrase');
  });
});

describe('keyring: key files a workspace could name', () => {
  const identities = (keyring: Keyring) =>
    new Promise<ParsedKey[]>((resolve, reject) =>
      keyring.getIdentities((error, keys) => (error ? reject(error) : resolve((keys ?? []) as ParsedKey[]))),
    );
  test('a FIFO or /dev/zero in column 3 is never opened or read: the key is unreadable, nothing hangs', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'keyring-hostile-'));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.ok(fs.statSync(fifo).isFIFO());
    const keyring = new Keyring({ identityFiles: [fifo, '/dev/zero'], identitiesOnly: true });
    assert.deepEqual(await identities(keyring), []);
    assert.deepEqual(
      keyring.reports().map((report) => report.state),
      ['unreadable', 'unreadable'],
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
