// The demo's memory across reloads: for each room the last messages shown,
// kept in sessionStorage next to the client's persisted positions, so a
// reload shows the conversation at once and the client resumes right
// after the last message kept; and the DM conversations, kept in
// localStorage (the inbox acknowledges per device, and a device is a
// browser: every tab of it shows them).

const KEY = 'comet-demo-rooms';
const MAX = 200;

/**
 * load returns the saved rooms of user: {room: [message...]}.
 * @param {string} user
 * @returns {Record<string, any[]>}
 */
export function load(user) {
  try {
    const all = JSON.parse(sessionStorage.getItem(KEY) || '{}');
    const mine = all && typeof all === 'object' ? all[user] : null;
    if (!mine || typeof mine !== 'object') return {};
    const out = {};
    for (const [room, msgs] of Object.entries(mine)) {
      if (Array.isArray(msgs)) out[room] = msgs.filter(valid).slice(-MAX);
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * save keeps the delivered messages of every room of user.
 * @param {string} user
 * @param {Map<string, {msgs: any[]}>} rooms
 */
export function save(user, rooms) {
  try {
    const all = JSON.parse(sessionStorage.getItem(KEY) || '{}') || {};
    const mine = {};
    for (const [name, room] of rooms) mine[name] = room.msgs.filter((m) => m.kind === 'msg').slice(-MAX);
    all[user] = mine;
    sessionStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // storage full or off: the demo still works, it forgets on reload
  }
}

function valid(m) {
  return m && m.kind === 'msg' && Number.isSafeInteger(m.seq) && typeof m.from === 'string' && typeof m.text === 'string';
}

const DM_KEY = 'comet-demo-dms';

/**
 * loadDMs returns the saved DM conversations of user (from localStorage:
 * every tab of the browser is the same device): [{key, msgs, seenUpTo}].
 * @param {string} user
 */
export function loadDMs(user) {
  try {
    const all = JSON.parse(localStorage.getItem(DM_KEY) || '{}');
    const mine = all && typeof all === 'object' ? all[user] : null;
    if (!Array.isArray(mine)) return [];
    return mine
      .filter((c) => c && typeof c.key === 'string' && Array.isArray(c.msgs))
      .map((c) => ({ key: c.key, msgs: c.msgs.filter(valid).slice(-MAX), seenUpTo: Number.isSafeInteger(c.seenUpTo) ? c.seenUpTo : 0 }));
  } catch {
    return [];
  }
}

/**
 * saveDMs keeps user's DM conversations.
 * @param {string} user
 * @param {Iterable<{key: string, msgs: any[], seenUpTo: number}>} convs
 */
export function saveDMs(user, convs) {
  try {
    const all = JSON.parse(localStorage.getItem(DM_KEY) || '{}') || {};
    all[user] = [...convs].map((c) => ({ key: c.key, msgs: c.msgs.filter((m) => m.kind === 'msg').slice(-MAX), seenUpTo: c.seenUpTo }));
    localStorage.setItem(DM_KEY, JSON.stringify(all));
  } catch {
    // storage full or off: the node still replays what was not handled
  }
}
