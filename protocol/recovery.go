package protocol

import (
	"strconv"
	"unsafe"

	"github.com/comet-im/comet/broker"
)

// The recovery rule, written once for every transport: what a client's
// position (a WebSocket since and epoch, a poll cursor, an SSE
// Last-Event-ID) means against a channel's stream as the engine reports
// it.

// Empty epochs. A channel that has no stream yet (never published to, or
// expired) has no epoch, but a client subscribed to it still needs a
// position to come back with. It gets ".T", T the time it was told, in
// base-36 Unix milliseconds; real epochs never start with '.'. (".T", N)
// names "seq N of the stream that began after T": the client saw nothing
// before T, then N messages of the stream created next. Subscribers are
// told the real epoch when that stream begins (an "epoch" event), so an
// empty epoch only has to stand in for a short while.
const emptyEpochMark = '.'

// AppendEmptyEpoch appends the epoch of a channel that had no stream at
// now (Unix ms).
func AppendEmptyEpoch(dst []byte, now int64) []byte {
	return strconv.AppendInt(append(dst, emptyEpochMark), now, 36)
}

// IsEmptyEpoch reports whether epoch names the absence of a stream.
func IsEmptyEpoch(epoch string) bool {
	return len(epoch) > 0 && epoch[0] == emptyEpochMark
}

// emptyEpochTime returns T of an empty epoch ".T", or false.
func emptyEpochTime(epoch string) (int64, bool) {
	if !IsEmptyEpoch(epoch) {
		return 0, false
	}
	t, err := strconv.ParseInt(epoch[1:], 36, 64)
	return t, err == nil && t > 0
}

// Recovery is the outcome of the rule for one position.
type Recovery struct {
	// After is the seq to replay after: publications of the stream's epoch
	// with a greater seq are what the client has not seen (or, when
	// Recovered is false, what history still holds of them).
	After uint64
	// Recovered says that history holds every publication the client
	// missed: the replay is complete. Meaningful when the client gave a
	// position.
	Recovered bool
	// Reread says that the publications read after the client's seq are
	// of no use (another epoch, or a seq from the future): read again
	// after After.
	Reread bool
	// Missed counts, when recovery fails within the client's epoch, the
	// publications history no longer holds: exactly what the client will
	// never get. 0 when recovered, or when the epoch changed (nothing of
	// the old stream can be counted in the new).
	Missed uint64
}

// Recover applies the recovery rule to a client's position on a stream,
// read after since.Seq. ttl is the shortest time an engine keeps a stream
// after its last publication (HistoryTTL): it bounds how long an empty
// epoch stays comparable with a stream created later.
//
// The rule:
//   - An empty since.Epoch trusts since.Seq as a seq of the current epoch.
//   - An empty epoch ".T" matches a stream that still does not exist (with
//     seq 0), or one created less than ttl/2 after T: no earlier stream
//     could have been created, published to and expired in between, so
//     everything since T is this stream, from seq 1. (Half of ttl leaves
//     room for clock skew between nodes.)
//   - The same epoch, with since.Seq at most the stream's top, replays
//     after since.Seq; it is recovered when nothing is missing in between:
//     since.Seq is the top, or history still holds since.Seq+1.
//   - Anything else (another epoch, a seq from the future) names nothing
//     here: what history holds is replayed and recovery fails.
//
// When recovery fails, After skips what history no longer holds, so a
// cursor built from it points at what is left, and the gap is reported.
func Recover(since broker.Position, st broker.StreamState, ttl int64) Recovery {
	same := since.Epoch == "" || since.Epoch == st.Epoch
	if t, ok := emptyEpochTime(since.Epoch); ok {
		if st.Epoch == "" {
			same = since.Seq == 0
		} else {
			same = st.Created < t+ttl/2
		}
	}
	if !same || since.Seq > st.Top {
		r := Recovery{Reread: since.Seq != 0}
		r.After = skipLost(0, st)
		return r
	}
	recovered := since.Seq == st.Top || (st.Oldest != 0 && st.Oldest <= since.Seq+1)
	if recovered {
		return Recovery{After: since.Seq, Recovered: true}
	}
	after := skipLost(since.Seq, st)
	return Recovery{After: after, Missed: after - since.Seq}
}

// skipLost moves after past what history no longer holds.
func skipLost(after uint64, st broker.StreamState) uint64 {
	switch {
	case st.Oldest == 0:
		return max(after, st.Top) // nothing kept: resume from now
	case st.Oldest-1 > after:
		return st.Oldest - 1
	}
	return after
}

// Live says what a live publication means to a subscription at position
// (epoch, seq).
type Live uint8

// Outcomes of LiveStep.
const (
	LiveDeliver Live = iota // the next publication: deliver it
	LiveAdopt               // the first of a new stream: tell the epoch, then deliver it
	LiveSkip                // already delivered (or replayed): skip it
	LiveGap                 // publications are missing before it: recover
)

// LiveNext reports whether the live publication (pubEpoch, pubSeq) is the
// next one for a subscription at (epoch, seq): LiveStep's LiveDeliver on
// the same epoch, the common case. A fan-out tests it first, inlined, for
// every subscriber (an ephemeral publication, seq 0, is never next).
func LiveNext(epoch string, seq uint64, pubEpoch string, pubSeq uint64) bool {
	return pubSeq != 0 && pubSeq-1 == seq && sameString(pubEpoch, epoch)
}

// sameString is a == b without a call where both share their bytes, as a
// subscription's epoch and its stream's publications do once it took one:
// the compiler calls memequal for any string comparison, and a call on the
// fan-out's path spills every register.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// LiveStep applies the rule to a live publication p for a subscription at
// (epoch, seq). A subscription on an empty epoch takes the first
// publication of a new stream as its next one.
func LiveStep(epoch string, seq uint64, p *broker.Publication) Live {
	if LiveNext(epoch, seq, p.Epoch, p.Seq) {
		return LiveDeliver
	}
	if p.Epoch == epoch {
		if p.Seq <= seq {
			return LiveSkip
		}
		return LiveGap
	}
	if seq == 0 && p.Seq == 1 && IsEmptyEpoch(epoch) {
		return LiveAdopt
	}
	return LiveGap
}

// AppendEpochEvent appends {"op":"epoch","ch":…,"epoch":…}: a channel's
// stream began, and seqs from here on belong to epoch.
func AppendEpochEvent(dst []byte, channel, epoch string) []byte {
	dst = append(dst, `{"op":"epoch","ch":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `","epoch":"`...)
	dst = append(dst, epoch...)
	return append(dst, `"}`...)
}

// StreamEpoch returns the epoch a position on st carries: the stream's,
// or an empty epoch for a channel with no stream (now in Unix ms).
func StreamEpoch(st broker.StreamState, now int64) string {
	if st.Epoch != "" {
		return st.Epoch
	}
	return string(AppendEmptyEpoch(nil, now))
}
