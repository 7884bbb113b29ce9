// Unit tests of src/outbox.js: the bounded send queue and its keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, newIdem, retryable } from '../src/outbox.js';

test('entries keep their idempotency key across attempts', async () => {
  const o = new Outbox(10);
  const { entry, done } = o.add({ op: 'pub', ch: 'r', data: 1 }, 0);
  assert.match(entry.key, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(entry.msg.idem, entry.key);
  entry.inflight = true;
  o.lost();
  assert.equal(entry.inflight, false);
  assert.deepEqual(o.ready(0), [entry]);
  o.settle(entry, 42);
  assert.equal(await done, 42);
  assert.equal(o.size, 0);
});

test('a given key is kept (a tab resending to a new leader)', () => {
  const o = new Outbox(10);
  assert.equal(o.add({ op: 'pub', ch: 'r', data: 1, idem: 'k1' }, 0).entry.key, 'k1');
});

test('the queue is bounded', async () => {
  const o = new Outbox(2);
  o.add({ op: 'pub' }, 0);
  o.add({ op: 'pub' }, 0);
  assert.throws(() => o.add({ op: 'pub' }, 0), (e) => e.kind === 'queue-full');
});

test('retryLater holds an entry back; expire gives up old ones', async () => {
  const o = new Outbox(5);
  const a = o.add({ op: 'pub' }, 0);
  o.retryLater(a.entry, 0, 1000);
  assert.deepEqual(o.ready(999), []);
  assert.deepEqual(o.ready(1000), [a.entry]);
  o.expire(5000, 1000);
  await assert.rejects(a.done, (e) => e.kind === 'timeout');
});

test('rate limits and busy nodes are retried, refusals are not', () => {
  assert.ok(retryable(429) && retryable(503) && retryable(0));
  assert.ok(!retryable(403) && !retryable(413) && !retryable(400));
  assert.notEqual(newIdem(), newIdem());
});
