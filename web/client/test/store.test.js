// Unit tests of src/store.js: persisted positions are input too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Saver, memoryStore, sanitize, storageStore } from '../src/store.js';

class FakeStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
}

test('storageStore round-trips positions', () => {
  const area = new FakeStorage();
  const s = storageStore('k', area);
  s.save({ 'room:1': { epoch: 'e.1', seq: 4 } });
  assert.deepEqual(s.load(), { 'room:1': { epoch: 'e.1', seq: 4 } });
  area.setItem('k', '{not json');
  assert.equal(s.load(), null);
});

test('sanitize drops malformed entries', () => {
  assert.deepEqual(
    sanitize({ 'room:1': { epoch: null, seq: 2 }, 'bad name': { seq: 1 }, 'room:2': { seq: -1 }, 'room:3': { epoch: 'UPPER', seq: 1 }, 'room:4': 'x' }),
    { 'room:1': { epoch: null, seq: 2 } },
  );
  assert.equal(sanitize([1]), null);
});

test('Saver writes at most once per interval, and at once on flush', async () => {
  const store = memoryStore();
  let n = 0;
  const saver = new Saver(store, () => ({ 'r:1': { epoch: null, seq: ++n } }), 20);
  saver.dirty();
  saver.dirty();
  assert.equal(store.data, null);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(store.data, { 'r:1': { epoch: null, seq: 1 } });
  saver.flush();
  assert.equal(store.data['r:1'].seq, 2);
});
