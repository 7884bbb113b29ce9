/*! comet.d.ts 0.2.0: generated from dist/comet.js by web/client/build.mjs; do not edit. */
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
/** VERSION is the version of this client. */
export const VERSION: "0.2.0";
export default Comet;
export type ResolvedOptions = { -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K]; };
/**
 * A position: a channel, the epoch of its sequence and the last seq seen.
 */
export type CursorPosition = {
    channel: string;
    epoch: string;
    seq: number;
};
/**
 * A delivery from the server, checked: seq 0 is an ephemeral message
 * (typing, join and leave), which never moves a position.
 */
export type WireMsg = {
    op: "msg";
    ch: string;
    seq: number;
    ts?: number;
    data: any;
    from?: string;
};
/**
 * A poll answer, checked.
 */
export type PollAnswer = {
    positions: CursorPosition[];
    msgs: any[];
    gaps: Set<string>;
};
/**
 * A presence entry, as the server lists them.
 */
export type PresenceEntry = {
    user?: string;
    client?: string;
    conn?: string;
    transport?: string;
    since?: number;
};
/**
 * Where a channel stands: `seq` null means "from now" (nothing seen yet).
 */
export type Position = {
    epoch: string | null;
    seq: number | null;
};
/**
 * A gap: history could not replay everything after `since`.
 */
export type GapInfo = {
    epoch: string;
    previousEpoch: string | null;
    since: number | null;
    reason: "history gap" | "epoch changed";
};
/**
 * A place to keep positions: sync (sessionStorage) or async (IndexedDB,
 * or anything the application provides).
 */
export type PositionStore = {
    load: () => Record<string, {
        epoch: string | null;
        seq: number;
    }> | null | Promise<Record<string, {
        epoch: string | null;
        seq: number;
    }> | null>;
    save: (positions: Record<string, {
        epoch: string | null;
        seq: number;
    }>) => void | Promise<void>;
};
/**
 * A link: post sends to the hub; the hub's messages come to onMessage.
 */
export type Link = {
    mode: "local" | "worker" | "leader";
    post: (m: any) => void;
    close: () => void;
    leading?: boolean;
};
/**
 * The callbacks of a link's owner.
 */
export type LinkOwner = {
    onMessage: (m: any) => void;
    onReset: () => void;
    onDown: (why: string) => void;
};
/**
 * What getToken may resolve with: the token, or the demo endpoint's
 * answer ({token, exp}, exp in Unix seconds).
 */
export type TokenAnswer = string | {
    token: string;
    exp?: number;
};
/**
 * Options of a client. Every field is optional; DEFAULTS has the values.
 */
export type CometOptions = {
    /**
     * server base URL; default: where comet.js was loaded from
     */
    url?: string | undefined;
    /**
     * fallback order
     */
    transports?: string[] | undefined;
    /**
     * force one transport (no fallback)
     */
    transport?: string | null | undefined;
    /**
     * a connection token, sent as ?token= on every transport
     */
    token?: string | null | undefined;
    /**
     * called for a token before connecting, when one expires (4401, HTTP 401), and before its exp
     */
    getToken?: (() => TokenAnswer | Promise<TokenAnswer>) | null | undefined;
    /**
     * ms for a transport to open before falling back
     */
    connectTimeout?: number | undefined;
    /**
     * backoff: the first retry waits random(0, initialDelay)
     */
    initialDelay?: number | undefined;
    /**
     * backoff cap, ms
     */
    maxDelay?: number | undefined;
    /**
     * ms a connection must live to reset the backoff
     */
    stableAfter?: number | undefined;
    /**
     * WebSocket: ping after this long without traffic
     */
    pingInterval?: number | undefined;
    /**
     * WebSocket: give up this long after the ping
     */
    pongTimeout?: number | undefined;
    /**
     * SSE/iframe: no byte (heartbeats included) this long: dead
     */
    streamTimeout?: number | undefined;
    /**
     * long-poll hold in seconds (null: the server's, 25 s)
     */
    pollWait?: number | null | undefined;
    /**
     * ms before a parked poll is considered dead
     */
    pollTimeout?: number | undefined;
    /**
     * ms for one attempt of a request to be answered
     */
    publishTimeout?: number | undefined;
    /**
     * messages the send queue holds while offline
     */
    maxQueued?: number | undefined;
    /**
     * ms a queued message may wait before it is given up (0: never)
     */
    sendTimeout?: number | undefined;
    /**
     * events before the forever-frame is replaced
     */
    iframeMaxEvents?: number | undefined;
    /**
     * how SSE is read
     */
    sseMode?: "auto" | "fetch" | "eventsource" | undefined;
    /**
     * the largest poll answer read, bytes
     */
    maxAnswerBytes?: number | undefined;
    /**
     * send cookies on cross-origin HTTP transports
     */
    withCredentials?: boolean | undefined;
    /**
     * one connection for every tab of the origin: a SharedWorker, a leader tab, or none (false)
     */
    share?: false | "auto" | "worker" | "leader" | undefined;
    /**
     * tabs share a connection only with the same url and shareKey (use the user id where tabs may sign in as different users)
     */
    shareKey?: string | undefined;
    /**
     * the script of the SharedWorker (default: comet.js itself)
     */
    workerURL?: string | URL | undefined;
    /**
     * keep positions across reloads: true or 'session' (sessionStorage), or a store
     */
    persist?: boolean | PositionStore | "session" | undefined;
    /**
     * the storage key of persisted positions
     */
    persistKey?: string | undefined;
    /**
     * log to console.debug
     */
    debug?: boolean | undefined;
};
/**
 * One queued request. `msg` is the wire message without its id.
 */
export type OutboxEntry = {
    key: string;
    msg: Record<string, any>;
    resolve: (reply: any) => void;
    reject: (err: CometError) => void;
    inflight: boolean;
    attempts: number;
    queuedAt: number;
    notBefore: number;
};
/**
 * How a transport ended: `fatal` forbids reconnecting.
 */
export type CloseInfo = {
    reason: string;
    code?: number;
    fatal?: boolean;
    retryAfter?: number;
};
/**
 * A delivery as the application sees it. `seq` 0 marks an ephemeral
 * message (typing, join, leave), which is never stored nor replayed.
 */
export type Message = {
    channel: string;
    seq: number;
    epoch: string | null;
    ts: number | undefined;
    data: any;
    from?: string;
};
export type Pos = {
    epoch: string | null;
    seq: number | null;
};
/**
 * HubTab is the hub's record of one tab.
 */
export type HubTab = {
    id: string;
    post: (m: any) => void;
    hasGetToken: boolean;
    channels: Map<string, {
        pos: Pos | null;
        attached: boolean;
        held: Message[] | null;
    }>;
    gone: boolean;
};
/**
 * Comet is a client of a Comet node. Nothing happens until connect().
 */
export class Comet extends Emitter {
    /** @param {CometOptions} [options] */
    constructor(options?: CometOptions);
    /** @type {ResolvedOptions} */
    options: ResolvedOptions;
    _forced: "websocket" | "sse" | "poll" | "iframe" | null;
    baseURL: URL;
    _key: string;
    _tab: string;
    /** @type {Map<string, TabChannel>} */
    _channels: Map<string, TabChannel>;
    _outbox: Outbox;
    /** @type {Map<string, {resolve: (v: any) => void, reject: (e: CometError) => void, timer: any}>} */
    _calls: Map<string, {
        resolve: (v: any) => void;
        reject: (e: CometError) => void;
        timer: any;
    }>;
    _nextId: number;
    /** @type {Link | null} */
    _link: Link | null;
    _linkGen: number;
    _sid: string;
    /** @type {'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'} */
    _state: "idle" | "connecting" | "connected" | "disconnected" | "closed";
    /** @type {string | null} */
    _transport: string | null;
    /** @type {Record<string, any> | null} */
    _identity: Record<string, any> | null;
    _connStats: {
        delivered: number;
        duplicates: number;
        connects: number;
        reconnects: number;
        errors: number;
        gaps: number;
    };
    _own: {
        delivered: number;
        duplicates: number;
        errors: number;
        gaps: number;
    };
    /** @type {(() => void) | null} */
    _releaseLock: (() => void) | null;
    /** @type {string | null} the lock this tab holds while it lives (the hub watches it) */
    _lockName: string | null;
    _store: PositionStore | null;
    /** @type {Record<string, {epoch: string | null, seq: number}> | null} */
    _saved: Record<string, {
        epoch: string | null;
        seq: number;
    }> | null;
    _saver: Saver | null;
    _onHide: () => void | null;
    /** state: 'idle', 'connecting', 'connected', 'disconnected' (waiting to retry) or 'closed'. */
    get state(): "closed" | "idle" | "connecting" | "connected" | "disconnected";
    /** The name of the transport in use (or being tried), or null. */
    get transport(): string | null;
    /** The forced transport, or null when falling back automatically. */
    get forcedTransport(): "websocket" | "sse" | "poll" | "iframe" | null;
    /** The channels subscribed to. */
    get channels(): string[];
    /** Who the connection is (WebSocket on a node with identity): {user, client, personal, conn, exp}, or null. */
    get identity(): Record<string, any> | null;
    /** How this tab reaches its connection: 'local', 'worker' or 'leader'; null before connect(). */
    get shared(): "worker" | "leader" | "local" | null;
    /** Whether the shared connection runs in this tab (the leader tab, or share: false). */
    get leader(): boolean;
    /** The publications not answered yet: [{key, channel, data, queuedAt}]. */
    get pending(): {
        key: string;
        channel: any;
        data: any;
        queuedAt: number;
    }[];
    /** Counters: delivered, duplicates, connects, reconnects, errors, gaps. */
    get stats(): {
        delivered: number;
        duplicates: number;
        connects: number;
        reconnects: number;
        errors: number;
        gaps: number;
    };
    /** connect starts connecting (and reconnecting). Calling it again is harmless. */
    connect(): this;
    _linking: boolean | undefined;
    /** close disconnects and stops reconnecting; subscriptions and positions are kept for a later connect(). */
    close(): this;
    /** retryNow ends a wait for the next try: the connection tries now. */
    retryNow(): void;
    /**
     * setTransport forces one transport (a name of TRANSPORTS), or restores
     * automatic fallback (null or 'auto'). The shared connection is
     * replaced; every channel continues from its position.
     * @param {string | null} name
     */
    setTransport(name: string | null): void;
    /**
     * subscribe calls handler(msg) for every message of channel, where msg is
     * {channel, seq, epoch, ts, data, from}. options.since (a seq, with
     * options.epoch, or a position {epoch, seq}) replays what came after it;
     * without it, a persisted position (persist option) or from now.
     * @param {string} channel
     * @param {(msg: Message) => void} handler
     * @param {{since?: number | {epoch: string | null, seq: number} | null, epoch?: string | null}} [options]
     * @returns {Subscription}
     */
    subscribe(channel: string, handler: (msg: Message) => void, options?: {
        since?: number | {
            epoch: string | null;
            seq: number;
        } | null;
        epoch?: string | null;
    }): Subscription;
    /**
     * unsubscribe drops every handler of channel.
     * @param {string} channel
     */
    unsubscribe(channel: string): void;
    /**
     * position returns {epoch, seq} of the last message delivered on channel
     * (or where it started), or null.
     * @param {string} channel
     */
    position(channel: string): {
        epoch: string | null;
        seq: number;
    } | null;
    /**
     * publish sends data (any JSON value but null) to channel and resolves
     * with its seq. While disconnected it waits in the send queue (at most
     * maxQueued messages), and it is sent again after a lost answer with the
     * same idempotency key, so that it is stored exactly once. Every
     * subscriber of the channel gets it, this tab included.
     * @param {string} channel
     * @param {any} data
     * @param {{idem?: string}} [options] idem: your own idempotency key (at most 64 bytes)
     * @returns {Promise<number>}
     */
    publish(channel: string, data: any, options?: {
        idem?: string;
    }): Promise<number>;
    /**
     * typing sends an ephemeral signal to a channel's subscribers (default
     * data {"typing":true}): delivered now with seq 0, never stored. It
     * needs the WebSocket transport.
     * @param {string} channel
     * @param {any} [data]
     */
    typing(channel: string, data?: any): Promise<undefined>;
    /**
     * presence asks who is present in channel (namespaces that keep
     * presence; the WebSocket transport): {channel, connections, users,
     * clients: [{user, client, conn, transport, since}], truncated}.
     * @param {string} channel
     */
    presence(channel: string): Promise<any>;
    /** ping checks the server answers. Resolves with the round trip in ms. */
    ping(): Promise<number>;
    /** @returns {'local' | 'worker' | 'leader'} */
    _mode(): "local" | "worker" | "leader";
    /**
     * _linkUp reaches a hub in the given mode (falling back to the next one
     * that works) and says hello.
     * @param {'local' | 'worker' | 'leader'} mode
     */
    _linkUp(mode: "local" | "worker" | "leader"): any;
    /**
     * _relink moves to another mode (a failed worker, the iframe).
     * @param {'local' | 'worker' | 'leader'} mode
     * @param {string} [why]
     */
    _relink(mode: "local" | "worker" | "leader", why?: string): void;
    _hello(): void;
    /**
     * @param {OutboxEntry} e
     */
    _sendQueued(e: OutboxEntry): void;
    /**
     * @param {Record<string, any>} msg
     * @returns {Promise<number>}
     */
    _queue(msg: Record<string, any>): Promise<number>;
    /**
     * _call sends a request that is not queued.
     * @param {Record<string, any>} msg
     * @returns {Promise<any>}
     */
    _call(msg: Record<string, any>): Promise<any>;
    /** @param {CometError} err */
    _failCalls(err: CometError): void;
    /** @param {any} m */
    _post(m: any): void;
    _owner(): {
        position: (ch: string) => {
            epoch: string | null;
            seq: number;
        } | null;
        drop: (s: Subscription) => void;
    };
    /** @param {TabChannel} c */
    _drop(c: TabChannel): void;
    /** @param {any} m */
    _fromHub(m: any): void;
    /**
     * @param {string} name
     * @param {any} arg
     */
    _event(name: string, arg: any): void;
    /**
     * @param {'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed'} state
     * @param {string | null} transport
     */
    _setState(state: "idle" | "connecting" | "connected" | "disconnected" | "closed", transport: string | null): void;
    /** @param {Record<string, any>} m */
    _start(m: Record<string, any>): void;
    /**
     * _rebase moves a position where the connection restarted it.
     * @param {TabChannel} c
     * @param {Record<string, any>} gap
     * @param {string | null} epoch
     * @param {number | null} seq
     */
    _rebase(c: TabChannel, gap: Record<string, any>, epoch: string | null, seq: number | null): void;
    /**
     * @param {unknown} ch
     * @param {any} info
     */
    _gap(ch: unknown, info: any): void;
    /**
     * @param {TabChannel} c
     * @param {Record<string, any>} info
     * @param {number | null} since
     */
    _gapEvent(c: TabChannel, info: Record<string, any>, since: number | null): void;
    /** @param {any} m */
    _message(m: any): void;
    /** @param {string} id */
    _answerToken(id: string): Promise<void>;
    /**
     * @param {string} type
     * @param {string} message
     */
    _report(type: string, message: string): void;
    /** @param {TabChannel} c */
    _restore(c: TabChannel): void;
    _snapshot(): Record<string, {
        epoch: string | null;
        seq: number;
    }>;
}
/**
 * createClient is new Comet(options).
 * @param {CometOptions} [options]
 */
export function createClient(options?: CometOptions): Comet;
/**
 * CometError is how every failure reaches the application: a rejected
 * publish, presence query or ping.
 *
 * `code` is the server's status (400, 403, 413, 429, 503...) when the server
 * answered, else 0. `kind` says what happened in a word:
 * - `'server'`: the server refused the request (see `code`);
 * - `'lost'`: the connection dropped before the answer (a publish from the
 *   send queue is resent; other requests are not);
 * - `'timeout'`: no answer in time;
 * - `'queue-full'`: the offline send queue holds `maxQueued` messages;
 * - `'invalid'`: the request was refused before sending (bad channel, data);
 * - `'unsupported'`: the transport in use cannot carry the request;
 * - `'closed'`: the client was closed.
 */
export class CometError extends Error {
    /**
     * @param {number} code the server's status, or 0
     * @param {string} message
     * @param {'server'|'lost'|'timeout'|'queue-full'|'invalid'|'unsupported'|'closed'} [kind]
     */
    constructor(code: number, message: string, kind?: "server" | "lost" | "timeout" | "queue-full" | "invalid" | "unsupported" | "closed");
    /** @type {number} */
    code: number;
    /** @type {string} */
    kind: string;
}
/**
 * What getToken may resolve with: the token, or the demo endpoint's
 * answer ({token, exp}, exp in Unix seconds).
 * @typedef {string | {token: string, exp?: number}} TokenAnswer
 */
/**
 * Options of a client. Every field is optional; DEFAULTS has the values.
 * @typedef {object} CometOptions
 * @property {string} [url] server base URL; default: where comet.js was loaded from
 * @property {string[]} [transports] fallback order
 * @property {string | null} [transport] force one transport (no fallback)
 * @property {string | null} [token] a connection token, sent as ?token= on every transport
 * @property {(() => TokenAnswer | Promise<TokenAnswer>) | null} [getToken] called for a token before connecting, when one expires (4401, HTTP 401), and before its exp
 * @property {number} [connectTimeout] ms for a transport to open before falling back
 * @property {number} [initialDelay] backoff: the first retry waits random(0, initialDelay)
 * @property {number} [maxDelay] backoff cap, ms
 * @property {number} [stableAfter] ms a connection must live to reset the backoff
 * @property {number} [pingInterval] WebSocket: ping after this long without traffic
 * @property {number} [pongTimeout] WebSocket: give up this long after the ping
 * @property {number} [streamTimeout] SSE/iframe: no byte (heartbeats included) this long: dead
 * @property {number | null} [pollWait] long-poll hold in seconds (null: the server's, 25 s)
 * @property {number} [pollTimeout] ms before a parked poll is considered dead
 * @property {number} [publishTimeout] ms for one attempt of a request to be answered
 * @property {number} [maxQueued] messages the send queue holds while offline
 * @property {number} [sendTimeout] ms a queued message may wait before it is given up (0: never)
 * @property {number} [iframeMaxEvents] events before the forever-frame is replaced
 * @property {'auto' | 'fetch' | 'eventsource'} [sseMode] how SSE is read
 * @property {number} [maxAnswerBytes] the largest poll answer read, bytes
 * @property {boolean} [withCredentials] send cookies on cross-origin HTTP transports
 * @property {'auto' | 'worker' | 'leader' | false} [share] one connection for every tab of the origin: a SharedWorker, a leader tab, or none (false)
 * @property {string} [shareKey] tabs share a connection only with the same url and shareKey (use the user id where tabs may sign in as different users)
 * @property {string | URL} [workerURL] the script of the SharedWorker (default: comet.js itself)
 * @property {boolean | 'session' | PositionStore} [persist] keep positions across reloads: true or 'session' (sessionStorage), or a store
 * @property {string} [persistKey] the storage key of persisted positions
 * @property {boolean} [debug] log to console.debug
 */
/** Default options; see docs/CLIENT.md for each. */
export const DEFAULTS: Readonly<{
    url: string | undefined;
    transports: readonly string[];
    transport: string | null;
    token: string | null;
    getToken: (() => TokenAnswer | Promise<TokenAnswer>) | null;
    connectTimeout: 10000;
    initialDelay: 1000;
    maxDelay: 30000;
    stableAfter: 10000;
    pingInterval: 20000;
    pongTimeout: 10000;
    streamTimeout: 45000;
    pollWait: number | null;
    pollTimeout: 40000;
    publishTimeout: 10000;
    maxQueued: 100;
    sendTimeout: 0;
    iframeMaxEvents: 1000;
    sseMode: "auto" | "fetch" | "eventsource";
    maxAnswerBytes: number;
    withCredentials: false;
    share: "auto" | "worker" | "leader" | false;
    shareKey: "";
    workerURL: string | URL | undefined;
    persist: boolean | "session" | PositionStore;
    persistKey: "comet:positions";
    debug: false;
}>;
/** Transport names, in the default fallback order. */
export const TRANSPORTS: readonly string[];
/**
 * Subscription is what subscribe returns: one handler of one channel.
 */
export class Subscription {
    /**
     * @param {{position: (ch: string) => {epoch: string | null, seq: number} | null, drop: (s: Subscription) => void}} owner
     * @param {string} channel
     * @param {(msg: Message) => void} handler
     */
    constructor(owner: {
        position: (ch: string) => {
            epoch: string | null;
            seq: number;
        } | null;
        drop: (s: Subscription) => void;
    }, channel: string, handler: (msg: Message) => void);
    _owner: {
        position: (ch: string) => {
            epoch: string | null;
            seq: number;
        } | null;
        drop: (s: Subscription) => void;
    };
    /** The channel's name. */
    channel: string;
    /** The handler, called with each message. */
    handler: (msg: Message) => void;
    /** False once unsubscribed. */
    active: boolean;
    /** @type {(info: {epoch: string | null, seq: number | null, recovered: boolean}) => void} */
    _resolveReady: (info: {
        epoch: string | null;
        seq: number | null;
        recovered: boolean;
    }) => void;
    /**
     * ready resolves with {epoch, seq, recovered} once the server confirmed
     * the subscription: from then on nothing published on the channel is
     * missed.
     * @type {Promise<{epoch: string | null, seq: number | null, recovered: boolean}>}
     */
    ready: Promise<{
        epoch: string | null;
        seq: number | null;
        recovered: boolean;
    }>;
    /** The channel's position: {epoch, seq} of the last message delivered, or null. */
    get position(): {
        epoch: string | null;
        seq: number;
    } | null;
    /** unsubscribe stops this handler; the channel is left with its last handler. */
    unsubscribe(): void;
}
/**
 * A position: a channel, the epoch of its sequence and the last seq seen.
 * @typedef {{channel: string, epoch: string, seq: number}} CursorPosition
 */
/**
 * parseCursor splits a cursor ("NAME~EPOCH~SEQ!NAME~EPOCH~SEQ") into
 * positions, or returns null when it is malformed.
 * @param {unknown} cursor
 * @returns {CursorPosition[] | null}
 */
export function parseCursor(cursor: unknown): CursorPosition[] | null;
/*! comet.js 0.2.0: built from web/client/src by web/client/build.mjs; do not edit. */
/**
 * Emitter is a small event emitter whose listeners cannot break it: an
 * exception in a listener is reported as an `error` event of type
 * `listener` (or to `reportError` when nobody listens), and the other
 * listeners still run.
 */
declare class Emitter {
    /** @type {Map<string, Set<(arg: any) => void>>} */
    _listeners: Map<string, Set<(arg: any) => void>>;
    /**
     * on registers fn for event and returns a function that removes it.
     * @param {string} event
     * @param {(arg: any) => void} fn
     * @returns {() => void}
     */
    on(event: string, fn: (arg: any) => void): () => void;
    /**
     * once is on for one call.
     * @param {string} event
     * @param {(arg: any) => void} fn
     * @returns {() => void}
     */
    once(event: string, fn: (arg: any) => void): () => void;
    /**
     * off removes fn.
     * @param {string} event
     * @param {(arg: any) => void} fn
     */
    off(event: string, fn: (arg: any) => void): void;
    /**
     * emit calls every listener of event; it returns whether there was one.
     * @param {string} event
     * @param {any} [arg]
     * @returns {boolean}
     */
    emit(event: string, arg?: any): boolean;
    /**
     * listenerFailed reports an exception thrown by application code.
     * @param {string} event
     * @param {unknown} err
     */
    listenerFailed(event: string, err: unknown): void;
}
/**
 * TabChannel is a tab's state for one channel.
 */
declare class TabChannel {
    /** @param {string} name */
    constructor(name: string);
    name: string;
    /** @type {Set<Subscription>} */
    subs: Set<Subscription>;
    /** @type {{epoch: string | null, seq: number | null}} */
    pos: {
        epoch: string | null;
        seq: number | null;
    };
    /** The hub started it for this tab. */
    live: boolean;
    /** Subscribed "from now" on purpose: a saved position does not apply. */
    fromNow: boolean;
}
/**
 * One queued request. `msg` is the wire message without its id.
 * @typedef {{
 *   key: string,
 *   msg: Record<string, any>,
 *   resolve: (reply: any) => void,
 *   reject: (err: CometError) => void,
 *   inflight: boolean,
 *   attempts: number,
 *   queuedAt: number,
 *   notBefore: number,
 * }} OutboxEntry
 */
/**
 * Outbox is a bounded FIFO of requests waiting for the server's answer.
 */
declare class Outbox {
    /** @param {number} max the most entries held; past it add throws */
    constructor(max: number);
    max: number;
    /** @type {OutboxEntry[]} */
    entries: OutboxEntry[];
    /** The number of entries. */
    get size(): number;
    /**
     * add queues msg and returns the promise of its answer. msg.idem, when
     * set, is kept (a tab resending to a new leader); otherwise one is made.
     * @param {Record<string, any>} msg
     * @param {number} now
     * @returns {{entry: OutboxEntry, done: Promise<any>}}
     */
    add(msg: Record<string, any>, now: number): {
        entry: OutboxEntry;
        done: Promise<any>;
    };
    /**
     * ready returns the entries that may be sent now, oldest first.
     * @param {number} now
     */
    ready(now: number): OutboxEntry[];
    /**
     * settle removes an entry and resolves or rejects it.
     * @param {OutboxEntry} e
     * @param {any} reply
     * @param {CometError} [err]
     */
    settle(e: OutboxEntry, reply: any, err?: CometError): void;
    /**
     * retryLater puts an entry back, to be sent again after ms.
     * @param {OutboxEntry} e
     * @param {number} now
     * @param {number} ms
     */
    retryLater(e: OutboxEntry, now: number, ms: number): void;
    /** lost marks every in-flight entry as unanswered: it is sent again. */
    lost(): void;
    /**
     * rejectAll empties the queue, rejecting every entry with err.
     * @param {CometError} err
     */
    rejectAll(err: CometError): void;
    /**
     * expire rejects the entries queued before now - maxAge (maxAge 0: none
     * expire).
     * @param {number} now
     * @param {number} maxAge
     */
    expire(now: number, maxAge: number): void;
}
/**
 * Saver writes positions at most every `interval` ms (and at once on
 * flush), so a busy channel does not write storage per message.
 */
declare class Saver {
    /**
     * @param {PositionStore} store
     * @param {() => Record<string, {epoch: string | null, seq: number}>} snapshot
     * @param {number} interval
     */
    constructor(store: PositionStore, snapshot: () => Record<string, {
        epoch: string | null;
        seq: number;
    }>, interval: number);
    store: PositionStore;
    snapshot: () => Record<string, {
        epoch: string | null;
        seq: number;
    }>;
    interval: number;
    /** @type {ReturnType<typeof setTimeout> | null} */
    timer: ReturnType<typeof setTimeout> | null;
    /** dirty schedules a write. */
    dirty(): void;
    /** flush writes now. */
    flush(): void;
}
