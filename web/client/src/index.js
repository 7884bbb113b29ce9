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
 * sent, exactly once. On a node with an inbox it sends direct messages,
 * moves read markers, counts unread messages, and acknowledges what the
 * application's handlers finished. See docs/CLIENT.md.
 *
 *   import { Comet } from '/comet.js';
 *   const comet = new Comet();
 *   comet.subscribe('room:lobby', (msg) => console.log(msg.seq, msg.data));
 *   comet.connect();
 *   const seq = await comet.publish('room:lobby', { text: 'hi' });
 *   comet.inbox(async (msg) => show(msg.conv, msg.from, msg.data));
 *   await comet.dm('bob', { text: 'hello' });
 */

import { Comet, createClient } from './comet.js';
import { CometError } from './errors.js';
import { DEFAULTS } from './options.js';
import { dmConversation, dmPeer } from './inbox.js';
import { parseCursor } from './protocol.js';
import { InboxHandler, Subscription } from './subscription.js';
import { TRANSPORTS } from './transports/index.js';
import { inCometWorker, startWorker } from './worker.js';

/** VERSION is the version of this client. */
export const VERSION = '0.3.0';

// Loaded as Comet's SharedWorker, this module serves the tabs.
if (inCometWorker()) startWorker();

export { Comet, createClient, CometError, DEFAULTS, TRANSPORTS, Subscription, InboxHandler, parseCursor, dmConversation, dmPeer };
export default Comet;
