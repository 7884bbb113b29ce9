// Unit tests of src/sse-parser.js: the event-stream format, split anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSEParser } from '../src/sse-parser.js';

const stream = 'retry: 2000\r\n\r\nid: a~e~1\ndata: {"op":"open"}\n\n: hb\n\ndata: one\ndata: two\r\n\r\nevent: x\ndata:three\r\r\n';

function parse(chunks) {
  const events = [];
  const retries = [];
  const p = new SSEParser((d) => events.push(d), { onRetry: (ms) => retries.push(ms) });
  for (const c of chunks) p.push(c);
  return { events, retries };
}

test('events, multi-line data, comments and the retry field', () => {
  assert.deepEqual(parse([stream]), { events: ['{"op":"open"}', 'one\ntwo', 'three'], retries: [2000] });
});

test('split at every byte gives the same events', () => {
  const whole = parse([stream]);
  for (let i = 1; i < stream.length; i++) assert.deepEqual(parse([stream.slice(0, i), stream.slice(i)]), whole, `split at ${i}`);
  assert.deepEqual(parse([...stream]), whole);
});

test('a line over the bound fails instead of growing', () => {
  let failed = 0;
  const p = new SSEParser(() => {}, { maxLine: 16, onTooLong: () => failed++ });
  p.push('data: ' + 'x'.repeat(40));
  assert.equal(failed, 1);
  assert.equal(p.buf, '');
});
