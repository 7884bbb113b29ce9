// The demo's memory of each room across reloads: the last messages shown,
// kept in sessionStorage next to the client's persisted positions, so a
// reload shows the conversation at once and the client resumes right
// after the last message kept.

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
