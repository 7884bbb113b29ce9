// @ts-check
// Events: the one way the client tells the application what happens.

/**
 * Emitter is a small event emitter whose listeners cannot break it: an
 * exception in a listener is reported as an `error` event of type
 * `listener` (or to `reportError` when nobody listens), and the other
 * listeners still run.
 */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<(arg: any) => void>>} */
    this._listeners = new Map();
  }

  /**
   * on registers fn for event and returns a function that removes it.
   * @param {string} event
   * @param {(arg: any) => void} fn
   * @returns {() => void}
   */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  /**
   * once is on for one call.
   * @param {string} event
   * @param {(arg: any) => void} fn
   * @returns {() => void}
   */
  once(event, fn) {
    const off = this.on(event, (arg) => {
      off();
      fn(arg);
    });
    return off;
  }

  /**
   * off removes fn.
   * @param {string} event
   * @param {(arg: any) => void} fn
   */
  off(event, fn) {
    const set = this._listeners.get(event);
    if (set) set.delete(fn);
  }

  /**
   * emit calls every listener of event; it returns whether there was one.
   * @param {string} event
   * @param {any} [arg]
   * @returns {boolean}
   */
  emit(event, arg) {
    const set = this._listeners.get(event);
    if (!set || set.size === 0) return false;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (err) {
        this.listenerFailed(event, err);
      }
    }
    return true;
  }

  /**
   * listenerFailed reports an exception thrown by application code.
   * @param {string} event
   * @param {unknown} err
   */
  listenerFailed(event, err) {
    if (event !== 'error' && this.emit('error', { type: 'listener', event, message: String(err), error: err })) return;
    const g = /** @type {any} */ (globalThis);
    if (typeof g.reportError === 'function') g.reportError(err);
    else console.error(err); // eslint-disable-line no-console
  }
}
