// @ts-check
// Server-Sent Events: GET /sse, read with fetch streaming (which sees the
// heartbeat comments) or EventSource.

import { HTTPTransport, fetchInit } from './http.js';
import { errMessage } from './base.js';
import { SSEParser } from '../sse-parser.js';
import { parseJSON } from '../protocol.js';

/** SSETransport is the one-way stream of events, with POST /send up. */
export class SSETransport extends HTTPTransport {
  restart() {
    this.started = false;
    this.gen = (this.gen || 0) + 1;
    const gen = this.gen;
    const url = this.conn.endpoint('sse', this.conn.httpParams());
    const mode = this.conn.options.sseMode;
    const streams = typeof fetch === 'function' && typeof ReadableStream === 'function' && typeof TextDecoder === 'function';
    if (mode === 'eventsource' || (mode === 'auto' && !streams)) this.openEventSource(url.href, gen);
    else this.openFetch(url.href, gen);
  }

  stopRequest() {
    this.gen = (this.gen || 0) + 1;
    clearInterval(this.watchTimer);
    if (this.ac) this.ac.abort();
    this.ac = null;
    if (this.es) {
      this.es.onmessage = this.es.onerror = null;
      this.es.close();
      this.es = null;
    }
  }

  /**
   * @param {string} url
   * @param {number} gen
   */
  openFetch(url, gen) {
    const ac = new AbortController();
    this.ac = ac;
    const live = () => !this.dead && gen === this.gen;
    fetch(url, fetchInit(this.conn, ac.signal, { Accept: 'text/event-stream' }))
      .then(async (res) => {
        if (!live()) return;
        const type = res.headers.get('content-type') || '';
        if (!res.ok || !/^text\/event-stream/i.test(type) || !res.body) {
          this.failHTTP('GET /sse', res);
          return;
        }
        this.watch(this.conn.options.streamTimeout);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const parser = new SSEParser((data) => live() && this.event(data), {
          onRetry: (ms) => this.conn.backoff.suggest(ms),
          onTooLong: () => this.fail('SSE event over 1 MiB'),
        });
        for (;;) {
          const { value, done } = await reader.read();
          if (!live()) {
            reader.cancel().catch(() => {});
            return;
          }
          if (done) break;
          this.lastRx = Date.now();
          parser.push(decoder.decode(value, { stream: true }));
        }
        this.fail('the server ended the event stream');
      })
      .catch((err) => {
        if (live()) this.fail(`GET /sse failed: ${errMessage(err)}`);
      });
  }

  // The EventSource mode cannot see heartbeat comments, so it relies on the
  // browser to notice a dead connection.
  /**
   * @param {string} url
   * @param {number} gen
   */
  openEventSource(url, gen) {
    const es = new EventSource(url, { withCredentials: this.conn.options.withCredentials });
    this.es = es;
    es.onmessage = (ev) => {
      if (this.dead || gen !== this.gen) return;
      this.lastRx = Date.now();
      this.event(ev.data);
    };
    // Reconnects are the client's (with positions and backoff), not the browser's.
    es.onerror = () => {
      if (!this.dead && gen === this.gen) this.fail('event stream error');
    };
  }

  /** @param {string} data */
  event(data) {
    const m = parseJSON(data);
    if (m === undefined) {
      this.conn.report('protocol', 'invalid JSON in an SSE event', { data: String(data).slice(0, 200) });
      return;
    }
    this.conn.streamEvent(this, m);
  }
}
