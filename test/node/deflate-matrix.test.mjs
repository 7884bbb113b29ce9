// permessage-deflate (RFC 7692) conformance against /echo: the case tables
// of sections 12 and 13 of the Autobahn testsuite's fuzzingclient, with
// node's ws as the client (Autobahn itself cannot run here; see
// docs/PROTOCOL.md, "Compression", "Conformance"). test/e2e
// TestDeflateMatrixNode starts a node with -echo and -ws-compression on and
// writes the matrix (message sizes and counts, the payloads) to
// COMET_DEFLATE_DATA; COMET_DEFLATE_MESSAGES overrides every case's count
// (1000 is Autobahn's), and COMET_DEFLATE_PART (12, 13 or P) runs one
// test only. The same matrix runs with Python's websockets in
// test/python/deflate_matrix.py, which also covers what ws cannot send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { Client, DEFAULT_TIMEOUT, withTimeout, wsURL } from './helpers.mjs';

// What Comet answers to every offer it accepts (docs/PROTOCOL.md,
// "Compression"), plus "; server_max_window_bits=N" when the offer had it.
const DOCUMENTED_ANSWER = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
// Comet sends shorter messages plain.
const MIN_COMPRESSED = 64;
// In flight at once (Autobahn has one): in order is then worth checking.
const BURST_MESSAGES = 8;
const BURST_BYTES = 256 << 10;

function loadMatrix() {
  const dir = process.env.COMET_DEFLATE_DATA;
  assert.ok(dir, 'COMET_DEFLATE_DATA is not set: run this through test/e2e (go test ./test/e2e -run DeflateMatrix)');
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  for (const s of m.sets) s.data = readFileSync(join(dir, s.file));
  m.data13 = readFileSync(join(dir, m.section13));
  if (process.env.COMET_DEFLATE_MESSAGES) {
    for (const c of m.sizes) c.count = Number(process.env.COMET_DEFLATE_MESSAGES);
  }
  return m;
}

const matrix = loadMatrix();

// part returns the test for one part of the matrix, or for none when
// COMET_DEFLATE_PART names another (an unknown one fails).
const PARTS = ['12', '13', 'P'];
const only = process.env.COMET_DEFLATE_PART;
assert.ok(!only || PARTS.includes(only), `COMET_DEFLATE_PART=${only}: not one of ${PARTS}`);
const part = (name) => (!only || only === name ? test : () => {});

// messages slices count messages of length bytes from data, round-robin,
// as Autobahn does (case12_x_x.py, sendOne).
function messages(data, length, count) {
  const out = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    let end = at + length;
    if (end <= data.length) {
      out.push(data.subarray(at, end));
    } else {
      end -= data.length;
      out.push(Buffer.concat([data.subarray(at), data.subarray(0, end)]));
    }
    at = end % data.length;
  }
  return out;
}

// shrinksClearly: compressible enough that any DEFLATE compressor, Comet's
// (Go's compress/flate, BestSpeed) included, makes its frame smaller.
function shrinksClearly(payload) {
  const n = zlib.deflateRawSync(payload, { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH }).length - 4;
  return payload.length >= MIN_COMPRESSED && n < payload.length * 0.9 - 16;
}

// parseExtensions: a Sec-WebSocket-Extensions value -> [[name, [[param, value|null]]]].
function parseExtensions(v) {
  return (v ?? '').split(',').filter((e) => e.trim()).map((e) => {
    const [name, ...params] = e.split(';').map((p) => p.trim());
    return [name.toLowerCase(), params.map((p) => {
      const i = p.indexOf('=');
      if (i < 0) return [p.toLowerCase(), null];
      let value = p.slice(i + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\/g, '');
      return [p.slice(0, i).trim().toLowerCase(), value];
    })];
  });
}

function bits(v) {
  if (v == null || !/^[1-9][0-9]?$/.test(v)) return null;
  const n = Number(v);
  return n >= 8 && n <= 15 ? n : null;
}

// rfc7692Problems lists what is wrong, by RFC 7692 §7.1, with answer (a
// response's permessage-deflate parameters) as the acceptance of offer.
function rfc7692Problems(offer, answer) {
  const problems = [];
  const offered = new Map(offer);
  const a = new Map(answer);
  if (a.size !== answer.length) problems.push('a parameter twice (§7.1)');
  for (const [name, value] of answer) {
    if (name === 'server_no_context_takeover' || name === 'client_no_context_takeover') {
      if (value !== null) problems.push(`${name} with a value (§7.1.1)`);
    } else if (name === 'server_max_window_bits') {
      const n = bits(value);
      if (n === null) problems.push(`server_max_window_bits=${value}: not 8 to 15 (§7.1.2.1)`);
      else if (bits(offered.get(name)) && n > bits(offered.get(name))) problems.push(`server_max_window_bits=${n} above the offer (§7.1.2.1)`);
    } else if (name === 'client_max_window_bits') {
      const n = bits(value);
      if (!offered.has(name)) problems.push('client_max_window_bits the offer did not have (§7.1.2.2)');
      else if (n === null) problems.push(`client_max_window_bits=${value}: not 8 to 15 (§7.1.2.2)`);
      else if (bits(offered.get(name)) && n > bits(offered.get(name))) problems.push(`client_max_window_bits=${n} above the hint (§7.1.2.2)`);
    } else {
      problems.push(`${name}: not a response parameter (§7.1)`);
    }
  }
  if (offered.has('server_no_context_takeover') && !a.has('server_no_context_takeover')) problems.push('server_no_context_takeover asked for, not answered (§7.1.1.1)');
  if (offered.has('server_max_window_bits') && !a.has('server_max_window_bits')) problems.push('server_max_window_bits asked for, not answered (§7.1.2.1)');
  return problems;
}

function documentedAnswer(offer) {
  const n = bits(new Map(offer).get('server_max_window_bits'));
  return DOCUMENTED_ANSWER + (n ? `; server_max_window_bits=${n}` : '');
}

// echoCase opens /echo with ws's perMessageDeflate options (false: no
// offer), checks the 101, sends msgs (frag > 0: in frames of frag bytes)
// a burst at a time, checks every echo is the message sent, in order,
// compressed when it must be, and closes with 1000. Returns a summary.
async function echoCase(pmd, msgs, isBinary, frag) {
  const perMessageDeflate = pmd === false ? false : { threshold: 0, ...pmd };
  const ws = new WebSocket(wsURL('/echo'), { perMessageDeflate, maxPayload: 1 << 20, allowSynchronousEvents: true });
  // Whether each message came compressed: ws does not say, but its
  // receiver's _compressed is the RSV1 of the message's first frame while
  // the message event runs (synchronous events, ws 8.18).
  const rsv1 = [];
  ws.on('message', () => {
    assert.equal(typeof ws._receiver._compressed, 'boolean', 'ws internals changed: cannot tell RSV1');
    rsv1.push(ws._receiver._compressed);
  });
  const c = new Client(ws);
  // The offer as ws wrote it in the request (ws._req, until the upgrade).
  const offerHeader = ws._req.getHeader('sec-websocket-extensions') ?? null;
  let answerHeader = null;
  ws.once('upgrade', (res) => { answerHeader = res.headers['sec-websocket-extensions'] ?? null; });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), DEFAULT_TIMEOUT, 'the WebSocket to open');
  const where = `offer ${JSON.stringify(offerHeader)}`;
  let window = null;
  if (pmd === false) {
    assert.equal(offerHeader, null);
    assert.equal(answerHeader, null, `${where}: no offer, yet ${answerHeader}`);
  } else {
    const offers = parseExtensions(offerHeader);
    const answers = parseExtensions(answerHeader);
    assert.equal(offers.length, 1, `${where}: ws makes one offer`);
    assert.equal(answers.length, 1, `${where}: answered ${JSON.stringify(answerHeader)}`);
    assert.equal(answers[0][0], 'permessage-deflate');
    const problems = rfc7692Problems(offers[0][1], answers[0][1]);
    assert.deepEqual(problems, [], `${where}: answer ${answerHeader}`);
    assert.equal(answerHeader, documentedAnswer(offers[0][1]), `${where}: not the answer docs/PROTOCOL.md gives`);
    assert.equal(ws.extensions, 'permessage-deflate', `${where}: ws did not take the answer`);
    window = bits(new Map(answers[0][1]).get('server_max_window_bits')) ?? 15;
  }
  const burst = Math.max(1, Math.min(BURST_MESSAGES, Math.floor(BURST_BYTES / Math.max(1, msgs[0].length))));
  for (let start = 0; start < msgs.length; start += burst) {
    const batch = msgs.slice(start, start + burst);
    for (const m of batch) {
      if (frag > 0) {
        for (let i = 0; i < m.length; i += frag) {
          ws.send(m.subarray(i, i + frag), { binary: isBinary, fin: i + frag >= m.length, compress: true });
        }
      } else {
        ws.send(m, { binary: isBinary, compress: true });
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const n = start + i;
      const got = await c.next();
      assert.equal(got.isBinary, isBinary, `${where}: message ${n} came back ${got.isBinary ? 'binary' : 'text'}`);
      assert.ok(batch[i].equals(got.data), `${where}: message ${n} (${batch[i].length} bytes) came back as ${got.data.length} different bytes`);
    }
  }
  assert.equal(rsv1.length, msgs.length);
  let must = 0;
  msgs.forEach((m, n) => {
    if (window !== 15) {
      assert.equal(rsv1[n], false, `${where}: message ${n} compressed, window ${window}`);
    } else if (m.length < MIN_COMPRESSED) {
      assert.equal(rsv1[n], false, `${where}: message ${n} of ${m.length} bytes compressed`);
    } else if (shrinksClearly(m)) {
      must++;
      assert.equal(rsv1[n], true, `${where}: message ${n} (${m.length} bytes, compressible) echoed uncompressed`);
    }
  });
  const closed = await c.close(1000);
  assert.equal(closed.code, 1000, `${where}: closed with ${closed.code}, not 1000`);
  assert.deepEqual(c.errors, []);
  return `${msgs.length} messages, ${rsv1.filter(Boolean).length} compressed (${must} had to be), window ${window}`;
}

// runCases runs every case, prints a line for each, and fails with all
// the failures at the end.
async function runCases(cases) {
  const failures = [];
  const started = Date.now();
  for (const { id, pmd, data, isBinary, size } of cases) {
    const msgs = messages(data, size.len, size.count);
    const t0 = Date.now();
    try {
      const summary = await echoCase(pmd, msgs, isBinary, size.frag);
      console.log(`${id.padEnd(14)} ok  ${String(size.len).padStart(6)} B frag ${String(size.frag).padStart(5)}: ${summary} (${Date.now() - t0} ms)`);
    } catch (err) {
      failures.push(`${id} (${size.len} B, frag ${size.frag}): ${err.message}`);
      console.log(`${id.padEnd(14)} FAIL ${failures.at(-1)}`);
    }
  }
  console.log(`${cases.length} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.deepEqual(failures, []);
}

// Autobahn's offers (case12_x_x.py, DEFLATE_PARAMS) as ws options: its
// default PerMessageDeflateOffer() offers client_no_context_takeover and
// client_max_window_bits; requestNoContextTakeover is
// server_no_context_takeover, requestMaxWindowBits server_max_window_bits.
const autobahn = (extra = {}) => ({ clientNoContextTakeover: true, clientMaxWindowBits: true, ...extra });

const SECTION13 = [
  ['13.1', autobahn()],
  ['13.2', autobahn({ serverNoContextTakeover: true })],
  ['13.3', autobahn({ serverMaxWindowBits: 8 })],
  ['13.4', autobahn({ serverMaxWindowBits: 15 })],
  ['13.5', autobahn({ serverNoContextTakeover: true, serverMaxWindowBits: 8 })],
  ['13.6', autobahn({ serverNoContextTakeover: true, serverMaxWindowBits: 15 })],
  // 13.7 offers three configurations at once; ws makes one offer per
  // connection, so it runs in test/python only.
];

// One test at a time: each is a sequence of connections, as in Autobahn.
await part('12')('Autobahn 12.1-12.5: the default offer, five payloads, every size', async () => {
  const cases = [];
  for (const s of matrix.sets) {
    matrix.sizes.forEach((size, i) => {
      cases.push({ id: `${s.section}.${i + 1}`, pmd: autobahn(), data: s.data, isBinary: s.binary, size });
    });
  }
  await runCases(cases);
});

await part('13')('Autobahn 13.1-13.6: the offers of section 13, every size', async () => {
  const cases = [];
  for (const [sec, pmd] of SECTION13) {
    matrix.sizes.forEach((size, i) => {
      cases.push({ id: `${sec}.${i + 1}`, pmd, data: matrix.data13, isBinary: false, size });
    });
  }
  await runCases(cases);
});

await part('P')('each parameter on its own, every window size, and no offer', async () => {
  const params = [
    ['P.none', false],
    ['P.plain', { clientMaxWindowBits: false }],
    ['P.cnct', { clientNoContextTakeover: true }],
    ['P.snct', { serverNoContextTakeover: true }],
    // The client compresses with the window it hinted (ws takes its own
    // hint when the answer has none, RFC 7692 §7.1.2.2).
    ...[8, 9, 10, 11, 12, 13, 14, 15].map((n) => [`P.cmwb${n}`, { clientMaxWindowBits: n }]),
    ...[8, 9, 10, 11, 12, 13, 14, 15].map((n) => [`P.smwb${n}`, { serverMaxWindowBits: n }]),
  ];
  const cases = [];
  for (const [id, pmd] of params) {
    for (const i of [1, 4, 12]) {
      cases.push({ id: `${id}.${i + 1}`, pmd, data: matrix.data13, isBinary: false, size: matrix.sizes[i] });
    }
  }
  await runCases(cases);
});
