// Unit tests of src/inbox.js: what may be acknowledged, in a tab and in
// the hub, and conversation ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckTracker, TabAcks, ackLimit, deviceID, dmConversation, dmPeer } from '../src/inbox.js';

test('dmConversation orders the ids and names the first one\'s length', () => {
  assert.equal(dmConversation('alice', 'bob'), 'dm:5:alice:bob');
  assert.equal(dmConversation('bob', 'alice'), 'dm:5:alice:bob');
  assert.equal(dmConversation('a:b', 'a'), 'dm:1:a:a:b');
});

test('dmPeer reads either side of a DM, and nothing else', () => {
  assert.equal(dmPeer('dm:5:alice:bob', 'alice'), 'bob');
  assert.equal(dmPeer('dm:5:alice:bob', 'bob'), 'alice');
  assert.equal(dmPeer('dm:1:a:a:b', 'a'), 'a:b');
  assert.equal(dmPeer('dm:1:a:a:b', 'a:b'), 'a');
  assert.equal(dmPeer('dm:5:alice:bob', 'carol'), null);
  assert.equal(dmPeer('system', 'alice'), null);
  assert.equal(dmPeer('dm:9:alice:bob', 'alice'), null);
  assert.equal(dmPeer(undefined, 'alice'), null);
});

test('the watermark stops before the oldest delivery not finished', () => {
  const t = new AckTracker();
  assert.equal(t.watermark(null), null);
  assert.equal(t.watermark(4), 4);
  const a = t.start(5);
  const b = t.start(6);
  a.left = 1; // an async handler
  t.settle();
  assert.equal(t.watermark(6), 4);
  assert.ok(t.busy);
  a.left = 0;
  t.settle();
  assert.equal(t.watermark(6), 6, 'both finished: the last delivery');
  assert.ok(!t.busy);
  assert.equal(b.failed, false);
});

test('a failed delivery holds the watermark until reset', () => {
  const t = new AckTracker();
  const a = t.start(3);
  a.failed = true;
  t.start(4);
  t.start(7); // seqs need not be contiguous (the sender's own DMs)
  t.settle();
  assert.equal(t.watermark(7), 2);
  t.reset();
  assert.ok(a.dead, 'a late result of a reset delivery does not count');
  assert.equal(t.watermark(2), 2);
});

test('the hub holds back what it sent a tab that has not reported it', () => {
  const t = new TabAcks();
  assert.equal(t.limit(), null, 'nothing sent: nothing held back');
  t.sent(11);
  t.sent(12);
  assert.equal(t.limit(), 10);
  t.report(null, 10); // a report written before the tab saw 11
  assert.equal(t.limit(), 10);
  t.report(10, 12); // saw both, still handling 11
  assert.equal(t.limit(), 10);
  t.report(null, 12); // finished both
  assert.equal(t.limit(), null);
});

test('ackLimit is the lowest limit of the tabs that hold something back', () => {
  const a = new TabAcks();
  const b = new TabAcks();
  assert.equal(ackLimit([a, b]), null);
  a.report(5, 6);
  assert.equal(ackLimit([a, b]), 5);
  b.sent(4);
  assert.equal(ackLimit([a, b]), 3);
  assert.equal(ackLimit([]), null);
});

test('deviceID is kept in localStorage and made once', () => {
  const store = new Map();
  globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  try {
    let n = 0;
    const make = () => `dev${++n}`;
    assert.equal(deviceID('k', make), 'dev1');
    assert.equal(deviceID('k', make), 'dev1');
    store.set('k', 'not a valid id!');
    assert.equal(deviceID('k', make), 'dev2', 'a malformed stored id is replaced');
  } finally {
    delete globalThis.localStorage;
  }
  assert.equal(deviceID('k', () => 'x1'), 'x1', 'no storage: a fresh one');
});
