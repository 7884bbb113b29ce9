// Unit tests of src/positions.js: new, duplicate, gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accept, adoptEpoch, before, pollAt, startAt } from '../src/positions.js';

test('accept delivers each seq once and lets ephemeral messages through', () => {
  const p = { epoch: 'e', seq: 3 };
  assert.equal(accept(p, 3), 'duplicate');
  assert.equal(accept(p, 4), 'new');
  assert.equal(p.seq, 4);
  assert.equal(accept(p, 0), 'ephemeral');
  assert.equal(p.seq, 4);
  const fresh = { epoch: null, seq: null };
  assert.equal(accept(fresh, 9), 'new');
});

test('startAt: from now takes the server seq; a since is kept', () => {
  const now = { epoch: null, seq: null };
  assert.equal(startAt(now, 'e.1', 7, false), null);
  assert.deepEqual(now, { epoch: 'e.1', seq: 7 });
  const since = { epoch: 'e.1', seq: 3 };
  assert.equal(startAt(since, 'e.1', 7, false), null);
  assert.equal(since.seq, 3);
});

test('startAt reports a history gap, and an epoch change restarts the count', () => {
  const p = { epoch: 'e.1', seq: 2 };
  assert.deepEqual(startAt(p, 'e.1', 110, true), { epoch: 'e.1', previousEpoch: 'e.1', since: 2, reason: 'history gap' });
  assert.equal(p.seq, 2);
  const q = { epoch: 'e.1', seq: 40 };
  assert.equal(startAt(q, 'e.2', 5, false).reason, 'epoch changed');
  assert.deepEqual(q, { epoch: 'e.2', seq: 0 });
});

test('an empty epoch becomes the real one without a gap', () => {
  const p = { epoch: '.mx5', seq: 0 };
  assert.equal(startAt(p, 'e.1', 0, false), null);
  const q = { epoch: '.mx5', seq: 0 };
  adoptEpoch(q, 'e.9');
  assert.equal(q.epoch, 'e.9');
  adoptEpoch(q, 'e.10');
  assert.equal(q.epoch, 'e.9', 'a real epoch is not replaced by an epoch event');
});

test('pollAt resets behind a gap whose cursor went backwards', () => {
  const p = { epoch: 'e.1', seq: 50 };
  assert.equal(pollAt(p, 'e.1', 10, true).reason, 'history gap');
  assert.equal(p.seq, 0);
});

test('before compares positions on one sequence', () => {
  assert.ok(before({ epoch: 'e', seq: 1 }, { epoch: 'e', seq: 2 }));
  assert.ok(!before({ epoch: 'e', seq: 2 }, { epoch: 'e', seq: 2 }));
  assert.ok(before({ epoch: 'a', seq: 9 }, { epoch: 'b', seq: 2 }), 'another epoch is behind');
  assert.ok(!before({ epoch: null, seq: null }, { epoch: 'e', seq: 2 }));
});
