// @ts-check
// The text/event-stream format (WHATWG HTML §9.2.6), for SSE read with
// fetch streaming.

/**
 * SSEParser calls onEvent(data) for each event and onRetry(ms) for a retry
 * field; comments (the heartbeat) only count as traffic. A line longer
 * than maxLine fails the stream (onTooLong): a hostile server cannot make
 * the client buffer without bound.
 */
export class SSEParser {
  /**
   * @param {(data: string) => void} onEvent
   * @param {{onRetry?: (ms: number) => void, onTooLong?: () => void, maxLine?: number}} [o]
   */
  constructor(onEvent, o = {}) {
    this.onEvent = onEvent;
    this.onRetry = o.onRetry || (() => {});
    this.onTooLong = o.onTooLong || (() => {});
    this.maxLine = o.maxLine || 1 << 20;
    this.buf = '';
    /** @type {string[]} */
    this.data = [];
    this.dataBytes = 0;
  }

  /**
   * push feeds one decoded chunk.
   * @param {string} chunk
   */
  push(chunk) {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A CR at the end of the buffer may be half of a CRLF.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
    if (this.buf.length > this.maxLine) {
      this.buf = '';
      this.onTooLong();
    }
  }

  /** @param {string} line */
  line(line) {
    if (line === '') {
      // Every event carries its op in its data, whatever its type.
      if (this.data.length > 0) this.onEvent(this.data.join('\n'));
      this.data = [];
      this.dataBytes = 0;
      return;
    }
    if (line[0] === ':') return; // a comment: the heartbeat
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') {
      this.dataBytes += value.length;
      if (this.dataBytes > this.maxLine) {
        this.data = [];
        this.dataBytes = 0;
        this.onTooLong();
        return;
      }
      this.data.push(value);
    } else if (field === 'retry' && /^\d{1,9}$/.test(value)) {
      this.onRetry(Number(value));
    }
    // id: positions are the client's own; event: the op says.
  }
}
