// The logins a check makes at once to one sshd (server/src/health/connectSlots.ts): bounded per
// sshd, never across sshds, taken in turn, given back when a login fails, and a probe cancelled
// while it waits is let through at once (its own connect then fails fast on the signal).
// The scale system test (test/system/scale.test.ts) holds the bound on real sshd logs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectSlots, sshdOf } from '../../server/src/health/connectSlots';

/** A login that stays in until `release()` is called, recording who is in at once. */
function gate() {
  const inside = new Map<string, number>();
  const most = new Map<string, number>();
  const order: string[] = [];
  const releases: (() => void)[] = [];
  const login = (sshd: string, name: string) => () =>
    new Promise<string>((resolve) => {
      order.push(name);
      inside.set(sshd, (inside.get(sshd) ?? 0) + 1);
      most.set(sshd, Math.max(most.get(sshd) ?? 0, inside.get(sshd)!));
      releases.push(() => {
        inside.set(sshd, inside.get(sshd)! - 1);
        resolve(name);
      });
    });
  const releaseAll = async () => {
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { login, most, order, releaseAll };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('at most N logins at once to one sshd, taken in turn; another sshd is not held up', async () => {
  const slots = new ConnectSlots(2);
  const g = gate();
  const a = ['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => slots.hold('a:22', g.login('a:22', name)));
  const b = slots.hold('b:22', g.login('b:22', 'b1'));
  await settle();
  assert.deepEqual(g.order, ['a1', 'a2', 'b1'], 'b1 starts while a3… wait for a');
  await g.releaseAll();
  assert.deepEqual(await Promise.all(a), ['a1', 'a2', 'a3', 'a4', 'a5']);
  assert.equal(await b, 'b1');
  assert.deepEqual(g.order, ['a1', 'a2', 'b1', 'a3', 'a4', 'a5']);
  assert.equal(g.most.get('a:22'), 2);
});

test('a login that fails gives its slot back', async () => {
  const slots = new ConnectSlots(1);
  await assert.rejects(
    slots.hold('a:22', () => Promise.reject(new Error('refused'))),
    /refused/,
  );
  assert.equal(await slots.hold('a:22', () => Promise.resolve('next')), 'next');
});

test('a probe cancelled while it waits for a slot is let through at once', async () => {
  const slots = new ConnectSlots(1);
  const g = gate();
  const first = slots.hold('a:22', g.login('a:22', 'first'));
  const cancel = new AbortController();
  const waiting = slots.hold('a:22', () => Promise.resolve('cancelled one'), cancel.signal);
  await settle();
  cancel.abort();
  assert.equal(await waiting, 'cancelled one');
  await g.releaseAll();
  assert.equal(await first, 'first');
});

test('the sshd a connection reaches: the first jump host when there is one', () => {
  assert.equal(sshdOf({ hostName: '127.0.0.1', port: 22, proxyJump: [] }), '127.0.0.1:22');
  assert.equal(sshdOf({ hostName: '10.0.0.5', port: 22, proxyJump: ['bastion', 'inner'] }), 'jump bastion');
});
