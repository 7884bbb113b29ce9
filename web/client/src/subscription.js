// @ts-check
// A tab's subscriptions: the handlers of a channel and the tab's own
// position in it.

/** @typedef {import('./link.js').Message} Message */
/** @typedef {import('./inbox.js').AckTracker} AckTracker */

/**
 * Subscription is what subscribe returns: one handler of one channel.
 */
export class Subscription {
  /**
   * @param {{position: (ch: string) => {epoch: string | null, seq: number} | null, drop: (s: Subscription) => void}} owner
   * @param {string} channel
   * @param {(msg: Message) => void} handler
   */
  constructor(owner, channel, handler) {
    this._owner = owner;
    /** The channel's name. */
    this.channel = channel;
    /** The handler, called with each message. */
    this.handler = handler;
    /** False once unsubscribed. */
    this.active = true;
    /** @type {(info: {epoch: string | null, seq: number | null, recovered: boolean}) => void} */
    this._resolveReady = () => {};
    /**
     * ready resolves with {epoch, seq, recovered} once the server confirmed
     * the subscription: from then on nothing published on the channel is
     * missed.
     * @type {Promise<{epoch: string | null, seq: number | null, recovered: boolean}>}
     */
    this.ready = new Promise((resolve) => {
      this._resolveReady = resolve;
    });
  }

  /** The channel's position: {epoch, seq} of the last message delivered, or null. */
  get position() {
    return this._owner.position(this.channel);
  }

  /** unsubscribe stops this handler; the channel is left with its last handler. */
  unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this._owner.drop(this);
  }
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
  constructor(drop, handler) {
    this._drop = drop;
    /** The handler, called with each delivery; the delivery is acknowledged once it returned or its promise resolved. */
    this.handler = handler;
    /** False once unsubscribed. */
    this.active = true;
  }

  /** unsubscribe stops this handler. */
  unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this._drop(this);
  }
}

/**
 * TabChannel is a tab's state for one channel.
 */
export class TabChannel {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {Set<Subscription>} */
    this.subs = new Set();
    /** @type {{epoch: string | null, seq: number | null}} */
    this.pos = { epoch: null, seq: null };
    /** The hub started it for this tab. */
    this.live = false;
    /** Subscribed "from now" on purpose: a saved position does not apply. */
    this.fromNow = false;
    /** @type {AckTracker | null} the personal channel's deliveries in the handlers' hands */
    this.acks = null;
    /** @type {{seq: number | null, upto: number | null} | null} the last ack report to the hub */
    this.reported = null;
  }
}
