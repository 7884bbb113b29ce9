// Unit tests of src/backoff.js: full jitter, the cap, the server's hint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, retryAfterMs } from '../src/backoff.js';

test('the window doubles up to maxDelay and resets', () => {
  const b = new Backoff({ initialDelay: 1000, maxDelay: 8000 }, () => 0.999999);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [999, 1999, 3999, 7999, 7999]);
  b.reset();
  assert.equal(b.next(), 999);
});

test('full jitter: a random point of the window', () => {
  const b = new Backoff({ initialDelay: 1000, maxDelay: 8000 }, () => 0);
  assert.equal(b.next(), 0);
});

test('a hint floors one delay; a hostile hint is capped', () => {
  const b = new Backoff({ initialDelay: 1000, maxDelay: 8000 }, () => 0.5);
  b.suggest(2000);
  b.suggest(500);
  assert.equal(b.next(), 2500);
  assert.equal(b.next(), 1000, 'consumed');
  b.suggest(1e12);
  assert.equal(b.next(), 300000 + 2000);
});

test('retryAfterMs reads seconds and dates', () => {
  assert.equal(retryAfterMs('5'), 5000);
  assert.equal(retryAfterMs(null), 0);
  assert.equal(retryAfterMs('soon'), 0);
  assert.equal(retryAfterMs(new Date(10000).toUTCString(), 4000), 6000);
});
