// The pool kept warm while the Remote Builders view is visible: idle connections stay open up
// to warmMs since their last use instead of idleMs, a connection that drops is still forgotten,
// and once the view hides idleMs counts again from then. The clock is node:test's mock timers
// (setTimeout and Date), so no test waits or measures real time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { ConnectResult } from '../../server/src/ssh/connect';
import { ConnectionPool, testIdleMs } from '../../server/src/ssh/pool';
import { fakeConnection } from './helpers/standInConnection';

const opened =
  (connection = fakeConnection()) =>
  async (): Promise<ConnectResult> => ({
    ok: true,
    connection,
    stages: [],
  });

/** Acquires and releases `key` once: the connection is then idle in the pool. */
async function useOnce(pool: ConnectionPool, key: string, open = opened()) {
  const result = await pool.acquire(key, open);
  assert.ok(result.ok);
  result.lease.release();
  return result.lease;
}

describe('the pool kept warm', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
  afterEach(() => mock.timers.reset());

  test('warm: an idle connection outlives idleMs and is closed at warmMs since its last use', async () => {
    const pool = new ConnectionPool({ idleMs: 100, warmMs: 1000 });
    pool.keepWarm(true);
    const connection = fakeConnection();
    await useOnce(pool, 'k', opened(connection));
    mock.timers.tick(999);
    assert.equal(connection.closed, false, 'closed before warmMs while the view is visible');
    // Used again: the limit counts from this last use.
    const again = await pool.acquire('k', opened());
    assert.ok(again.ok && again.lease.reused && again.lease.connection === connection);
    again.lease.release();
    mock.timers.tick(999);
    assert.equal(connection.closed, false, 'the warm limit did not restart at the last use');
    mock.timers.tick(1);
    assert.equal(connection.closed, true);
    assert.deepEqual(pool.stats(), { opened: 1, reused: 1, closedIdle: 1, open: 0 });
  });

  test('hidden again: idleMs counts from the moment it hides, not from the last use', async () => {
    const pool = new ConnectionPool({ idleMs: 100, warmMs: 1000 });
    pool.keepWarm(true);
    const connection = fakeConnection();
    await useOnce(pool, 'k', opened(connection));
    mock.timers.tick(500);
    pool.keepWarm(false);
    mock.timers.tick(99);
    assert.equal(connection.closed, false, 'closed before idleMs had passed since the view hid');
    mock.timers.tick(1);
    assert.equal(connection.closed, true);
  });

  test('shown while a connection is idle: it is kept, up to warmMs since its last use', async () => {
    const pool = new ConnectionPool({ idleMs: 100, warmMs: 1000 });
    const connection = fakeConnection();
    await useOnce(pool, 'k', opened(connection));
    mock.timers.tick(60);
    pool.keepWarm(true);
    mock.timers.tick(100);
    assert.equal(connection.closed, false, 'closed at idleMs although the view is visible');
    mock.timers.tick(839);
    assert.equal(connection.closed, false);
    mock.timers.tick(1);
    assert.equal(connection.closed, true, 'held past warmMs since its last use');
  });

  test("not warm: idleMs as before; a probe's adopted connection follows the same rule", async () => {
    const pool = new ConnectionPool({ idleMs: 100, warmMs: 1000 });
    const used = fakeConnection();
    await useOnce(pool, 'used', opened(used));
    mock.timers.tick(100);
    assert.equal(used.closed, true);
    pool.keepWarm(true);
    const probed = fakeConnection();
    pool.adopt('probed', probed);
    mock.timers.tick(999);
    assert.equal(probed.closed, false, "the probe's connection was not kept warm");
    mock.timers.tick(1);
    assert.equal(probed.closed, true);
  });

  test('warm: a connection in use is never closed, and one that drops is forgotten (the next request opens anew)', async () => {
    const pool = new ConnectionPool({ idleMs: 100, warmMs: 1000 });
    pool.keepWarm(true);
    const inUse = fakeConnection();
    const lease = await pool.acquire('busy', opened(inUse));
    assert.ok(lease.ok);
    pool.keepWarm(false);
    pool.keepWarm(true);
    mock.timers.tick(5000);
    assert.equal(inUse.closed, false, 'a connection in use was closed');
    lease.lease.release();

    const dropping = fakeConnection();
    await useOnce(pool, 'k', opened(dropping));
    dropping.close(); // what the keepalives report when the builder goes away
    const next = fakeConnection();
    const again = await pool.acquire('k', opened(next));
    assert.ok(again.ok);
    assert.equal(again.lease.connection, next);
    assert.equal(again.lease.reused, false);
    again.lease.release();
    await pool.close();
  });
});

test('NIX_BUILDERS_TEST_IDLE_MS: a whole number of ms overrides the idle time; anything else is no override', () => {
  assert.equal(testIdleMs({ NIX_BUILDERS_TEST_IDLE_MS: '300' }), 300);
  for (const value of [undefined, '', '0', '-5', '1.5', '3e3', ' 300', '300ms', '99999999999'])
    assert.equal(testIdleMs({ NIX_BUILDERS_TEST_IDLE_MS: value }), undefined, String(value));
});
