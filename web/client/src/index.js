// @ts-check
/*!
 * comet.js: the browser client of the Comet push server.
 *
 * A dependency-free ES module. It speaks the wire protocol of
 * docs/PROTOCOL.md over WebSocket, Server-Sent Events, long-poll and an
 * iframe forever-frame, falls back from one to the next, reconnects with
 * backoff and full jitter, resumes every channel from the last seq it
 * delivered (nothing lost, nothing twice), shares one connection between
 * the tabs of an origin, and keeps what is published offline until it is
 * sent, exactly once. See docs/CLIENT.md.
 *
 *   import { Comet } from '/comet.js';
 *   const comet = new Comet();
 *   comet.subscribe('room:lobby', (msg) => console.log(msg.seq, msg.data));
 *   comet.connect();
 *   const seq = await comet.publish('room:lobby', { text: 'hi' });
 */

import { Comet, createClient } from './comet.js';
import { CometError } from './errors.js';
import { DEFAULTS } from './options.js';
import { parseCursor } from './protocol.js';
import { Subscription } from './subscription.js';
import { TRANSPORTS } from './transports/index.js';
import { inCometWorker, startWorker } from './worker.js';

/** VERSION is the version of this client. */
export const VERSION = '0.2.0';

// Loaded as Comet's SharedWorker, this module serves the tabs.
if (inCometWorker()) startWorker();

export { Comet, createClient, CometError, DEFAULTS, TRANSPORTS, Subscription, parseCursor };
export default Comet;
