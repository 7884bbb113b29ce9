package redis

import (
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
)

// The records, as the scripts pack them (struct.pack, 8-byte big-endian
// integers): one C call per record in Lua, where a number formatted as
// text would cost a Lua string each.
const (
	// stateSize: top, oldest, bytes, unread, created, updated, the oldest
	// kept entry's time (-1: unknown), listed (1: in the users index).
	stateSize = 8 * 8
	// convSize: read marker, kept, unread, last seq, last time.
	convSize = 5 * 8
	// deviceSize: acked, last seen, created.
	deviceSize = 3 * 8
	// entryTimeSize: an entry's time, before its ids and payload.
	entryTimeSize = 8
)

// field returns the i-th 8-byte integer of a record.
func field(rec string, i int) uint64 { return be64(rec[8*i:]) }

// be64 reads a big-endian integer from the first 8 bytes of s.
func be64(s string) uint64 {
	_ = s[7]
	return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
		uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
}

// parseState reads a log's state from its epoch and state fields.
func parseState(epoch, rec string) (inbox.State, bool) {
	var e uint64
	for i := 0; i < len(epoch); i++ {
		if epoch[i] < '0' || epoch[i] > '9' {
			return inbox.State{}, false
		}
		e = e*10 + uint64(epoch[i]-'0')
	}
	if len(rec) != stateSize || epoch == "" {
		return inbox.State{}, false
	}
	st := inbox.State{
		Epoch: e, Top: field(rec, 0), Oldest: field(rec, 1), Bytes: field(rec, 2), Unread: field(rec, 3),
		Created: time.UnixMicro(int64(field(rec, 4))), Updated: time.UnixMicro(int64(field(rec, 5))),
	}
	if st.Oldest == 0 || st.Oldest > st.Top+1 {
		return inbox.State{}, false
	}
	st.Dropped = st.Oldest - 1
	return st, true
}

// parseConv reads a conversation record.
func parseConv(id, rec string) (inbox.Conversation, bool) {
	if len(rec) != convSize {
		return inbox.Conversation{}, false
	}
	return inbox.Conversation{
		ID: id, Read: field(rec, 0), Kept: field(rec, 1), Unread: field(rec, 2),
		LastSeq: field(rec, 3), LastTime: time.UnixMicro(int64(field(rec, 4))),
	}, true
}

// parseDevice reads a device record.
func parseDevice(rec string) (acked uint64, seen, created int64, ok bool) {
	if len(rec) != deviceSize {
		return 0, 0, 0, false
	}
	return field(rec, 0), int64(field(rec, 1)), int64(field(rec, 2)), true
}

// decodeEntries copies the stored entries out of the reply, the first
// with seq start, in two allocations beside the slice: one string for
// every entry's ids, which the entries' strings slice, and one array for
// every payload, which their Payloads slice with their capacity capped,
// so that appending to one never writes over the next. An entry is its
// time, then conversation, from, from device and key, each followed by a
// space, then the payload.
func decodeEntries(raw []string, start uint64) ([]inbox.Entry, bool) {
	if len(raw) == 0 {
		return nil, true
	}
	type parsed struct {
		ends    [4]int // of the ids in raw's string after the time, then in the arena
		payload int    // offset of the payload in the arena
	}
	ps := make([]parsed, len(raw))
	idBytes, payloadBytes := 0, 0
	for i, e := range raw {
		if len(e) < entryTimeSize+5 {
			return nil, false
		}
		rest := e[entryTimeSize:]
		off := 0
		for f := range ps[i].ends {
			j := strings.IndexByte(rest[off:], ' ')
			if j < 0 {
				return nil, false
			}
			off += j
			ps[i].ends[f] = off
			off++
		}
		idBytes += off - 4
		payloadBytes += len(rest) - off
	}
	var ids strings.Builder
	ids.Grow(idBytes)
	payloads := make([]byte, 0, payloadBytes)
	for i, e := range raw {
		rest := e[entryTimeSize:]
		p := &ps[i]
		begin := 0
		for f, end := range p.ends {
			ids.WriteString(rest[begin:end])
			begin = end + 1
			p.ends[f] = ids.Len()
		}
		p.payload = len(payloads)
		payloads = append(payloads, rest[begin:]...)
	}
	// The builder did not reallocate (Grow reserved it all): its string is
	// the one allocation.
	all := ids.String()
	out := make([]inbox.Entry, len(raw))
	prev := 0
	for i, e := range raw {
		p := &ps[i]
		end := len(payloads)
		if i+1 < len(ps) {
			end = ps[i+1].payload
		}
		out[i] = inbox.Entry{
			Seq:          start + uint64(i),
			Time:         time.UnixMicro(int64(be64(e))),
			Conversation: all[prev:p.ends[0]],
			From:         all[p.ends[0]:p.ends[1]],
			FromDevice:   all[p.ends[1]:p.ends[2]],
			Key:          all[p.ends[2]:p.ends[3]],
			Payload:      payloads[p.payload:end:end],
		}
		prev = p.ends[3]
	}
	return out, true
}
