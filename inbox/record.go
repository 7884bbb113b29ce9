package inbox

import (
	"encoding/binary"
	"strings"
	"time"
)

// Records are fixed-width big-endian fields after a version byte, except
// the entry, whose ids are length-prefixed and whose payload is the rest.
const recordVersion = 1

// metaRecord is a user's log state, stored under the user's "m" key and
// rewritten by every write to the user's log.
type metaRecord struct {
	epoch   uint64
	top     uint64
	oldest  uint64
	bytes   uint64
	unread  uint64
	created int64
	updated int64
}

const metaSize = 1 + 7*8

func (m *metaRecord) encode() []byte {
	b := make([]byte, 1, metaSize)
	b[0] = recordVersion
	for _, v := range [...]uint64{m.epoch, m.top, m.oldest, m.bytes, m.unread, uint64(m.created), uint64(m.updated)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func decodeMeta(b []byte) (metaRecord, error) {
	if len(b) != metaSize || b[0] != recordVersion {
		return metaRecord{}, ErrCorrupt
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[1+8*i:]) }
	return metaRecord{
		epoch: u(0), top: u(1), oldest: u(2), bytes: u(3), unread: u(4),
		created: int64(u(5)), updated: int64(u(6)),
	}, nil
}

func (m *metaRecord) kept() uint64 { return m.top + 1 - m.oldest }

func (m *metaRecord) state() State {
	return State{
		Epoch: m.epoch, Top: m.top, Oldest: m.oldest, Bytes: m.bytes,
		Dropped: m.oldest - 1, Unread: m.unread,
		Created: time.Unix(0, m.created), Updated: time.Unix(0, m.updated),
	}
}

// emptyState is the state of a user with no log.
func emptyState() State { return State{Oldest: 1} }

// entryHeader is an entry's size without its ids and payload: version,
// time, four id lengths.
const entryHeader = 1 + 8 + 4

// entrySize is what an entry of m takes, as retention counts it.
func entrySize(m *Message) int {
	return entryHeader + len(m.Conversation) + len(m.From) + len(m.FromDevice) + len(m.Key) + len(m.Payload)
}

// encodeEntry returns the stored form of m at time now.
func encodeEntry(now int64, m *Message) []byte {
	b := make([]byte, 1, entrySize(m))
	b[0] = recordVersion
	b = binary.BigEndian.AppendUint64(b, uint64(now))
	b = appendString(b, m.Conversation)
	b = appendString(b, m.From)
	b = appendString(b, m.FromDevice)
	b = appendString(b, m.Key)
	return append(b, m.Payload...)
}

// entryView is a decoded entry whose slices alias the stored bytes: valid
// only while the transaction that read them is open.
type entryView struct {
	time       int64
	conv       []byte
	from       []byte
	fromDevice []byte
	key        []byte
	payload    []byte
	ids        []byte // conv through key, with their length bytes
}

func decodeEntry(b []byte) (entryView, error) {
	var e entryView
	if len(b) < entryHeader || b[0] != recordVersion {
		return e, ErrCorrupt
	}
	e.time = int64(binary.BigEndian.Uint64(b[1:]))
	rest := b[9:]
	var ok bool
	for _, f := range []*[]byte{&e.conv, &e.from, &e.fromDevice, &e.key} {
		if *f, rest, ok = parseString(rest); !ok {
			return e, ErrCorrupt
		}
	}
	e.ids = b[9 : len(b)-len(rest)]
	e.payload = rest
	return e, nil
}

// entry copies the view out of the transaction's memory: one string for
// the ids, which the Entry's strings slice, and one slice for the payload.
func (e *entryView) entry(seq uint64) Entry {
	var a pageArena
	a.reserve(e)
	a.alloc()
	return a.entry(e, seq)
}

// pageArena copies a page of entries out of a read transaction in two
// allocations: one string holding every entry's ids, which the entries'
// strings slice, and one array holding every payload, which their
// Payloads slice with their capacity capped, so that appending to one
// never writes over the next.
type pageArena struct {
	idBytes, payloadBytes int
	ids                   strings.Builder
	payloads              []byte
}

// reserve counts e's bytes; call it for every entry before alloc.
func (a *pageArena) reserve(e *entryView) {
	a.idBytes += len(e.conv) + len(e.from) + len(e.fromDevice) + len(e.key)
	a.payloadBytes += len(e.payload)
}

func (a *pageArena) alloc() {
	a.ids.Grow(a.idBytes)
	a.payloads = make([]byte, 0, a.payloadBytes)
}

// entry copies e into the arena. The ids are appended to the builder,
// whose string is final only once every entry is in: entry returns
// offsets, and finish turns them into strings.
func (a *pageArena) entry(e *entryView, seq uint64) Entry {
	out := Entry{Seq: seq, Time: time.Unix(0, e.time)}
	for _, f := range [...]struct {
		dst *string
		src []byte
	}{{&out.Conversation, e.conv}, {&out.From, e.from}, {&out.FromDevice, e.fromDevice}, {&out.Key, e.key}} {
		a.ids.Write(f.src)
		// The builder does not reallocate (Grow reserved it all), so the
		// string so far is a prefix of the final one.
		s := a.ids.String()
		*f.dst = s[len(s)-len(f.src):]
	}
	start := len(a.payloads)
	a.payloads = append(a.payloads, e.payload...)
	out.Payload = a.payloads[start:len(a.payloads):len(a.payloads)]
	return out
}

// deviceRecord is a device's position.
type deviceRecord struct {
	acked    uint64
	lastSeen int64
	created  int64
}

const deviceSize = 1 + 3*8

func (d *deviceRecord) encode() []byte {
	b := make([]byte, 1, deviceSize)
	b[0] = recordVersion
	b = binary.BigEndian.AppendUint64(b, d.acked)
	b = binary.BigEndian.AppendUint64(b, uint64(d.lastSeen))
	return binary.BigEndian.AppendUint64(b, uint64(d.created))
}

func decodeDevice(b []byte) (deviceRecord, error) {
	if len(b) != deviceSize || b[0] != recordVersion {
		return deviceRecord{}, ErrCorrupt
	}
	return deviceRecord{
		acked:    binary.BigEndian.Uint64(b[1:]),
		lastSeen: int64(binary.BigEndian.Uint64(b[9:])),
		created:  int64(binary.BigEndian.Uint64(b[17:])),
	}, nil
}

func (d *deviceRecord) device(id string, m *metaRecord) Device {
	out := Device{ID: id, Acked: d.acked, LastSeen: time.Unix(0, d.lastSeen), Created: time.Unix(0, d.created)}
	from := d.acked
	if removed := m.oldest - 1; removed > from {
		out.Gap = removed - from
		from = removed
	}
	if m.top > from {
		out.Pending = m.top - from
	}
	return out
}

// convRecord is a user's marker and counters in one conversation.
type convRecord struct {
	read     uint64
	kept     uint64
	unread   uint64
	lastSeq  uint64
	lastTime int64
}

const convSize = 1 + 5*8

func (c *convRecord) encode() []byte {
	b := make([]byte, 1, convSize)
	b[0] = recordVersion
	for _, v := range [...]uint64{c.read, c.kept, c.unread, c.lastSeq, uint64(c.lastTime)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func decodeConv(b []byte) (convRecord, error) {
	if len(b) != convSize || b[0] != recordVersion {
		return convRecord{}, ErrCorrupt
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[1+8*i:]) }
	return convRecord{read: u(0), kept: u(1), unread: u(2), lastSeq: u(3), lastTime: int64(u(4))}, nil
}

func (c *convRecord) conversation(id string) Conversation {
	return Conversation{ID: id, Read: c.read, Kept: c.kept, Unread: c.unread, LastSeq: c.lastSeq, LastTime: time.Unix(0, c.lastTime)}
}

// convIndex values: whether the entry is the user's own message.
var (
	indexOther = []byte{0}
	indexOwn   = []byte{1}
)

// idemRecord is an idempotency key's first append: when, and at which seq.
type idemRecord struct {
	at  int64
	seq uint64
}

const idemSize = 1 + 2*8

func (r *idemRecord) encode() []byte {
	b := make([]byte, 1, idemSize)
	b[0] = recordVersion
	b = binary.BigEndian.AppendUint64(b, uint64(r.at))
	return binary.BigEndian.AppendUint64(b, r.seq)
}

func decodeIdem(b []byte) (idemRecord, error) {
	if len(b) != idemSize || b[0] != recordVersion {
		return idemRecord{}, ErrCorrupt
	}
	return idemRecord{at: int64(binary.BigEndian.Uint64(b[1:])), seq: binary.BigEndian.Uint64(b[9:])}, nil
}
