// Unit tests of src/emitter.js: listeners cannot break the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Emitter } from '../src/emitter.js';

test('on, once, off', () => {
  const e = new Emitter();
  const got = [];
  const off = e.on('x', (a) => got.push(`on ${a}`));
  e.once('x', (a) => got.push(`once ${a}`));
  e.emit('x', 1);
  e.emit('x', 2);
  off();
  assert.equal(e.emit('x', 3), false);
  assert.deepEqual(got, ['on 1', 'once 1', 'on 2']);
});

test('a throwing listener becomes an error event; the others still run', () => {
  const e = new Emitter();
  const errors = [];
  let ran = false;
  e.on('error', (ev) => errors.push(ev.type + ' ' + ev.event));
  e.on('x', () => {
    throw new Error('bug');
  });
  e.on('x', () => (ran = true));
  e.emit('x');
  assert.ok(ran);
  assert.deepEqual(errors, ['listener x']);
});
