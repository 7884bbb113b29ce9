// @ts-check
// Positions: per channel, the epoch and the last seq delivered, and the
// rules that decide what is new, what is a duplicate, and when history
// failed to reach back (a gap). The connection keeps one per channel, and
// every tab keeps its own, with the same rules.

/**
 * Where a channel stands: `seq` null means "from now" (nothing seen yet).
 * @typedef {{epoch: string | null, seq: number | null}} Position
 */

/**
 * A gap: history could not replay everything after `since`.
 * @typedef {{epoch: string, previousEpoch: string | null, since: number | null, reason: 'history gap' | 'epoch changed'}} GapInfo
 */

/**
 * isEmptyEpoch reports an empty epoch ('.' and a time): the channel had no
 * stream yet, and its first one continues it without a gap.
 * @param {string | null} epoch
 */
export function isEmptyEpoch(epoch) {
  return epoch != null && epoch.startsWith('.');
}

/**
 * epochChanged reports whether the server's epoch is another sequence than
 * the one the position counts in.
 * @param {Position} p
 * @param {string} epoch
 */
export function epochChanged(p, epoch) {
  return p.epoch != null && !isEmptyEpoch(p.epoch) && p.epoch !== epoch;
}

/**
 * startAt applies the position a subscription starts from (a sub reply, a
 * stream's open cursor): `seq` is the channel's last seq there, `gapped`
 * whether the server said history did not reach back. It returns the gap to
 * report, or null.
 * @param {Position} p
 * @param {string} epoch
 * @param {number} seq
 * @param {boolean} gapped
 * @returns {GapInfo | null}
 */
export function startAt(p, epoch, seq, gapped) {
  const prev = { epoch: p.epoch, seq: p.seq };
  const changed = epochChanged(p, epoch);
  if (p.seq == null) p.seq = seq; // from now
  else if (changed || (gapped && seq < p.seq)) p.seq = 0; // what follows is all new
  p.epoch = epoch;
  if (!gapped && !changed) return null;
  return { epoch, previousEpoch: prev.epoch, since: prev.seq, reason: changed ? 'epoch changed' : 'history gap' };
}

/**
 * pollAt is startAt for a poll answer, whose cursor is where the answer
 * ends (endSeq), before its messages are delivered; the caller moves the
 * position to endSeq after them.
 * @param {Position} p
 * @param {string} epoch
 * @param {number} endSeq
 * @param {boolean} gapped
 * @returns {GapInfo | null}
 */
export function pollAt(p, epoch, endSeq, gapped) {
  const changed = epochChanged(p, epoch);
  /** @type {GapInfo | null} */
  let gap = null;
  if (gapped || changed) {
    gap = { epoch, previousEpoch: p.epoch, since: p.seq, reason: changed ? 'epoch changed' : 'history gap' };
    if (changed || (p.seq != null && endSeq < p.seq)) p.seq = 0;
  }
  p.epoch = epoch;
  return gap;
}

/**
 * accept decides about one delivery: 'ephemeral' (seq 0: deliver, do not
 * move), 'duplicate' (at or before the position: drop) or 'new' (deliver;
 * the position moves to it).
 * @param {Position} p
 * @param {number} seq
 * @returns {'ephemeral' | 'duplicate' | 'new'}
 */
export function accept(p, seq) {
  if (seq === 0) return 'ephemeral';
  if (p.seq != null && seq <= p.seq) return 'duplicate';
  p.seq = seq;
  return 'new';
}

/**
 * adoptEpoch applies {"op":"epoch"}: the stream of a channel joined while
 * it had none began, and its seqs, from 1, belong to this epoch.
 * @param {Position} p
 * @param {unknown} epoch
 */
export function adoptEpoch(p, epoch) {
  if (typeof epoch !== 'string' || epoch === '' || isEmptyEpoch(epoch) || epoch.length > 32) return;
  if (p.epoch == null || (isEmptyEpoch(p.epoch) && !p.seq)) p.epoch = epoch;
}

/**
 * before reports whether position a is strictly behind b on the same
 * sequence (so a reader at a still needs what came up to b). A position
 * whose epoch is unknown or empty counts as the same sequence.
 * @param {Position} a
 * @param {Position} b
 */
export function before(a, b) {
  if (a.seq == null || b.seq == null) return false;
  if (a.epoch && b.epoch && !isEmptyEpoch(a.epoch) && !isEmptyEpoch(b.epoch) && a.epoch !== b.epoch) return true;
  return a.seq < b.seq;
}
