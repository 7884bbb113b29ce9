// Unit tests of src/protocol.js: what the client accepts from the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePollAnswer, decodePresence, decodeUnread, frameOp, parseCursor, positionParam, randomKey, validChannel, validMsg } from '../src/protocol.js';

test('parseCursor reads positions and refuses malformed cursors', () => {
  assert.deepEqual(parseCursor('room:1~dn1f3iqyxhia.1~42!user:a~~0'), [
    { channel: 'room:1', epoch: 'dn1f3iqyxhia.1', seq: 42 },
    { channel: 'user:a', epoch: '', seq: 0 },
  ]);
  for (const bad of ['', 'room:1', 'room:1~e~', 'room:1~e~-1', 'room:1~e~1e3', 'bad name~e~1', 'r~E~1', 'r~e~99999999999999999', 42, null]) {
    assert.equal(parseCursor(bad), null, String(bad));
  }
});

test('positionParam names a channel from now or at a position', () => {
  assert.equal(positionParam('room:1', null, null), 'room:1');
  assert.equal(positionParam('room:1', null, 5), 'room:1~~5');
  assert.equal(positionParam('room:1', 'e.1', 5), 'room:1~e.1~5');
});

test('validMsg accepts deliveries and ephemeral messages, nothing else', () => {
  assert.ok(validMsg({ op: 'msg', ch: 'room:1', seq: 3, ts: 1, data: 'x' }));
  assert.ok(validMsg({ op: 'msg', ch: 'room:1', seq: 0, data: { typing: true }, from: 'bob' }));
  assert.ok(!validMsg({ op: 'msg', ch: 'room:1', seq: -1, data: 1 }));
  assert.ok(!validMsg({ op: 'msg', ch: 'room:1', seq: 1.5, data: 1 }));
  assert.ok(!validMsg({ op: 'msg', ch: 'room:1', seq: 1 }));
  assert.ok(!validMsg({ op: 'msg', ch: 'no spaces', seq: 1, data: 1 }));
  assert.ok(!validMsg({ op: 'msg', ch: 'room:1', seq: 1, data: 1, from: 7 }));
  assert.ok(validChannel('user:alice@example.com') && !validChannel('x'.repeat(129)));
});

test('frameOp reports what is wrong with a frame', () => {
  assert.deepEqual(frameOp('{"op":"pong","id":"x"}'), { m: { op: 'pong', id: 'x' } });
  assert.match(frameOp('nope').error, /invalid JSON/);
  assert.match(frameOp('[1]').error, /without op/);
  assert.match(frameOp(new ArrayBuffer(2)).error, /binary/);
  assert.deepEqual(frameOp({ op: 'open' }, true), { m: { op: 'open' } });
});

test('decodePollAnswer needs a cursor and msgs', () => {
  const a = decodePollAnswer({ cursor: 'r~e~2', msgs: [], gap: ['r', 5] });
  assert.deepEqual([...a.gaps], ['r']);
  assert.equal(decodePollAnswer({ cursor: 'r~e~2' }), null);
  assert.equal(decodePollAnswer({ cursor: 'junk', msgs: [] }), null);
});

test('decodePresence keeps known fields only, at most 1000 entries', () => {
  const clients = Array.from({ length: 1200 }, (_, i) => ({ user: `u${i}`, since: i, evil: '<script>' }));
  const p = decodePresence({ op: 'presence', ch: 'room:1', connections: 3, users: 2, clients });
  assert.equal(p.clients.length, 1000);
  assert.deepEqual(p.clients[1], { user: 'u1', since: 1 });
  assert.equal(decodePresence({ ch: 'room:1', connections: -1, users: 0, clients: [] }), null);
});

test('randomKey makes distinct URL-safe keys', () => {
  const a = randomKey(16);
  assert.match(a, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(a, randomKey(16));
});

test('decodeUnread keeps the known fields of each conversation', () => {
  const u = decodeUnread({
    op: 'unread', total: 3, top: 9, next: 'dm:1:b:c',
    convs: [{ conv: 'dm:1:a:b', unread: 3, read: 4, last: 9, ts: 1700000000000, evil: 1 }, { conv: 7, unread: 1 }, { conv: 'system', unread: 0 }],
  });
  assert.deepEqual(u, {
    total: 3, top: 9, next: 'dm:1:b:c',
    convs: [{ conv: 'dm:1:a:b', unread: 3, read: 4, last: 9, ts: 1700000000000 }, { conv: 'system', unread: 0, read: 0, last: 0, ts: 0 }],
  });
  assert.equal(decodeUnread({ op: 'unread', total: -1, convs: [] }), null);
  assert.equal(decodeUnread({ op: 'unread', total: 0 }), null);
  assert.equal(decodeUnread({ op: 'unread', total: 0, convs: [] }).next, null);
});

test('validMsg takes a conversation on personal deliveries', () => {
  assert.ok(validMsg({ op: 'msg', ch: 'user:a', seq: 1, data: 1, conv: 'dm:1:a:b' }));
  assert.ok(!validMsg({ op: 'msg', ch: 'user:a', seq: 1, data: 1, conv: 5 }));
});
