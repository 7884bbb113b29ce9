/*! comet.d.ts 0.3.0: generated from dist/comet.js by web/client/build.mjs; do not edit. */
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
/** VERSION is the version of this client. */
export const VERSION: "0.3.0";
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
 * (typing, join and leave, read events and seen receipts), which never
 * moves a position. conv: the conversation of a personal channel's
 * delivery.
 */
export type WireMsg = {
    op: "msg";
    ch: string;
    seq: number;
    ts?: number;
    data: any;
    from?: string;
    conv?: string;
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
 * One conversation of an unread answer: its unread count, the read
 * marker, the last entry's seq and time.
 */
export type UnreadConversation = {
    conv: string;
    unread: number;
    read: number;
    last: number;
    ts: number;
};
/**
 * The unread answer: the user's unread total, the top of the log, the
 * conversations (a page of them) and the id to ask for the next page.
 */
export type Unread = {
    total: number;
    top: number;
    convs: UnreadConversation[];
    next: string | null;
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
     * the device id for the inbox (sent as device=; a token's client claim wins): null makes one per browser, kept in localStorage; false sends none
     */
    device?: string | false | null | undefined;
    /**
     * the localStorage key of the device id
     */
    deviceKey?: string | undefined;
    /**
     * log to console.debug
     */
    debug?: boolean | undefined;
};
/**
 * One delivery in the handlers' hands: `left` handlers have not settled
 * yet; `failed` once one threw or rejected (it is then never done on this
 * connection); `dead` once the tracker was reset (its late results no
 * longer count).
 */
export type Work = {
    seq: number;
    left: number;
    failed: boolean;
    dead: boolean;
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
 * message (typing, join, leave; on a personal channel read events and
 * seen receipts), which is never stored nor replayed. `conv` is the
 * conversation of a personal channel's delivery (a DM, a group, system).
 */
export type Message = {
    channel: string;
    seq: number;
    epoch: string | null;
    ts: number | undefined;
    data: any;
    from?: string;
    conv?: string;
};
export type Pos = {
    epoch: string | null;
    seq: number | null;
};
/**
 * A tab's channel in the hub: where the tab stands, whether it is served
 * live, what is held for it while its history is read (overflow: some was
 * dropped, to be read from history), and, for the personal channel, how
 * far its handlers got.
 */
export type HubChannel = {
    pos: Pos | null;
    attached: boolean;
    held: Message[] | null;
    overflow?: boolean;
    acks?: TabAcks;
};
/**
 * HubTab is the hub's record of one tab: inbox says it handles the
 * personal channel (inboxPos: from where, after a new leader).
 */
export type HubTab = {
    id: string;
    post: (m: any) => void;
    hasGetToken: boolean;
    channels: Map<string, HubChannel>;
    gone: boolean;
    inbox: boolean;
    inboxPos: Pos | null;
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
    /** @type {string | null} the personal channel, once the hub knows it */
    _personal: string | null;
    /** @type {Set<InboxHandler>} */
    _inboxHandlers: Set<InboxHandler>;
    _ackQueued: boolean;
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
    /**
     * The user's personal channel (user:NAME), once known (any transport), or null.
     * @returns {string | null}
     */
    get personal(): string | null;
    /** This browser's device id for the inbox (sent as device=), or null. */
    get device(): string | null;
    /** How this tab reaches its connection: 'local', 'worker' or 'leader'; null before connect(). */
    get shared(): "worker" | "leader" | "local" | null;
    /** Whether the shared connection runs in this tab (the leader tab, or share: false). */
    get leader(): boolean;
    /** The publications and DMs not answered yet: [{key, op, channel, to, data, queuedAt}] (channel for a pub, to for a dm). */
    get pending(): {
        key: string;
        op: any;
        channel: any;
        to: any;
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
    /**
     * inbox calls handler(msg) for every message stored for the user (its
     * personal channel: DMs, group and backend messages; msg.conv names the
     * conversation), then acknowledges it for this device, but only once
     * handler returned, or the promise it returned resolved. What it threw
     * on, rejected or never finished is not acknowledged and comes again
     * with the next connection (a reconnect, the next page load). Register
     * it before connect(): what the connection receives before any tab
     * handles the inbox is not held for later handlers.
     * @param {(msg: Message) => any} handler
     * @returns {InboxHandler}
     */
    inbox(handler: (msg: Message) => any): InboxHandler;
    /**
     * dm sends a direct message to user `to` (both users' personal
     * channels, every device of both) and resolves with its seq in the
     * sender's own log. Like publish, it waits in the send queue while
     * offline and is sent again after a lost answer with the same
     * idempotency key: stored exactly once.
     * @param {string} to
     * @param {any} data
     * @param {{idem?: string}} [options]
     * @returns {Promise<number>}
     */
    dm(to: string, data: any, options?: {
        idem?: string;
    }): Promise<number>;
    /**
     * read moves the user's read marker in conversation conv to seq (a seq
     * of the user's personal channel; it never moves back). The user's other
     * devices get a read event; in a DM the other participant gets a seen
     * receipt. Resolves with {read, unread}: the marker and what is still
     * unread in the conversation.
     * @param {string} conv
     * @param {number} seq
     * @returns {Promise<{read: number, unread: number}>}
     */
    read(conv: string, seq: number): Promise<{
        read: number;
        unread: number;
    }>;
    /**
     * unread resolves with the user's unread counts: {total, top, convs:
     * [{conv, unread, read, last, ts}], next}, 100 conversations at a time
     * (pass {conv: next} for the following page).
     * @param {{conv?: string}} [options]
     * @returns {Promise<Unread>}
     */
    unread(options?: {
        conv?: string;
    }): Promise<Unread>;
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
    /** @param {InboxHandler} h */
    _dropInbox(h: InboxHandler): void;
    _handlesInbox(): boolean;
    _inboxPos(): {
        epoch: string | null;
        seq: number;
    } | null;
    /**
     * _personalChannel is the tab's channel for the personal channel name,
     * made for the inbox's handlers when they have none.
     * @param {string} name
     */
    _personalChannel(name: string): TabChannel | undefined;
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
    /**
     * _personalMessage hands a delivery of the personal channel to its
     * handlers: a stored one is acknowledged once they all finished; an
     * ephemeral one (seq 0) is a read event or a seen receipt.
     * @param {TabChannel} c
     * @param {AckTracker} acks
     * @param {Message} msg
     * @param {boolean} stored
     */
    _personalMessage(c: TabChannel, acks: AckTracker, msg: Message, stored: boolean): void;
    /**
     * _inboxEvent emits a read event ({conv, seq, unread}: another device
     * of the user read conv) or a seen receipt ({conv, by, ts}: the DM's
     * other participant read up to the entry of time ts).
     * @param {Message} msg
     */
    _inboxEvent(msg: Message): void;
    /**
     * _acked tells the hub, once per task, how far this tab's handlers got
     * on the personal channel.
     * @param {TabChannel} c
     */
    _acked(c: TabChannel): void;
    /**
     * _redeliver moves the personal channel back to what its handlers
     * finished: the connection starts again from there, and what they had
     * not finished is delivered again.
     * @param {TabChannel} c
     */
    _redeliver(c: TabChannel): void;
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
 * @property {string | false | null} [device] the device id for the inbox (sent as device=; a token's client claim wins): null makes one per browser, kept in localStorage; false sends none
 * @property {string} [deviceKey] the localStorage key of the device id
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
    device: string | false | null;
    deviceKey: "comet:device";
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
 * InboxHandler is what inbox returns: one handler of the personal
 * channel's stored deliveries.
 */
export class InboxHandler {
    /**
     * @param {(h: InboxHandler) => void} drop
     * @param {(msg: Message) => any} handler
     */
    constructor(drop: (h: InboxHandler) => void, handler: (msg: Message) => any);
    _drop: (h: InboxHandler) => void;
    /** The handler, called with each delivery; the delivery is acknowledged once it returned or its promise resolved. */
    handler: (msg: Message) => any;
    /** False once unsubscribed. */
    active: boolean;
    /** unsubscribe stops this handler. */
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
/**
 * dmConversation names the DM between users a and b as the server does:
 * "dm:" + the length of the first + ":" + first + ":" + second, the two
 * ids in byte order (user ids are ASCII, so string order is byte order).
 * @param {string} a
 * @param {string} b
 */
export function dmConversation(a: string, b: string): string;
/**
 * dmPeer returns the other participant of DM conversation conv for user
 * me, or null when conv is not a DM of me's.
 * @param {unknown} conv
 * @param {string} me
 * @returns {string | null}
 */
export function dmPeer(conv: unknown, me: string): string | null;
/**
 * TabAcks is the hub's view of what one tab holds of the personal
 * channel: the watermark the tab reported while its handlers held
 * deliveries (null: none held), the last seq it had seen when it did,
 * and what the hub sent it since, which the tab cannot have finished (a
 * report may cross a message on the way).
 */
declare class TabAcks {
    /** @type {number | null} */
    done: number | null;
    /** @type {number[]} seqs sent after the tab's last report, in order */
    unseen: number[];
    /** @param {number} seq a delivery sent to the tab */
    sent(seq: number): void;
    /**
     * report applies the tab's {seq: watermark (null: nothing held), upto:
     * last seq it saw}.
     * @param {number | null} done
     * @param {number | null} upto
     */
    report(done: number | null, upto: number | null): void;
    /**
     * limit is the highest seq this tab allows to acknowledge, or null when
     * it holds nothing back.
     * @returns {number | null}
     */
    limit(): number | null;
}
/*! comet.js 0.3.0: built from web/client/src by web/client/build.mjs; do not edit. */
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
    /** @type {AckTracker | null} the personal channel's deliveries in the handlers' hands */
    acks: AckTracker | null;
    /** @type {{seq: number | null, upto: number | null} | null} the last ack report to the hub */
    reported: {
        seq: number | null;
        upto: number | null;
    } | null;
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
/**
 * One delivery in the handlers' hands: `left` handlers have not settled
 * yet; `failed` once one threw or rejected (it is then never done on this
 * connection); `dead` once the tracker was reset (its late results no
 * longer count).
 * @typedef {{seq: number, left: number, failed: boolean, dead: boolean}} Work
 */
/**
 * AckTracker follows the deliveries of one channel through the
 * application's handlers, oldest first.
 */
declare class AckTracker {
    /** @type {Work[]} */
    work: Work[];
    /**
     * start notes the delivery of seq, whose handlers run next.
     * @param {number} seq
     * @returns {Work}
     */
    start(seq: number): Work;
    /** settle drops the finished deliveries at the head. */
    settle(): void;
    /**
     * watermark is the seq that may be acknowledged: everything delivered up
     * to it is done. pos is the last seq delivered (null: none yet).
     * @param {number | null} pos
     * @returns {number | null}
     */
    watermark(pos: number | null): number | null;
    /** busy reports whether a delivery is still in the handlers' hands (or failed). */
    get busy(): boolean;
    /** reset forgets every delivery in progress: they are delivered again. */
    reset(): void;
}
