package inboxtest

import (
	"errors"
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Retention by count removes the oldest entries and reports exactly how
// many each device and each reader missed.
func testRetentionByCount(e *env) {
	e.ack("alice", "phone", 0)
	e.appendN("alice", "room:1", "bob", 0, 250)
	e.ack("alice", "laptop", 120)
	s := e.state("alice")
	if s.Top != 250 || s.Oldest != 151 || s.Dropped != 150 || s.Kept() != 100 || s.Unread != 100 {
		e.t.Fatalf("state %+v", s)
	}
	for _, c := range []struct {
		device string
		gap    uint64
	}{{"phone", 150}, {"laptop", 30}} {
		dev := e.device("alice", c.device)
		if dev.Gap != c.gap || dev.Pending != 100 {
			e.t.Fatalf("%s: %+v, want gap %d", c.device, dev, c.gap)
		}
		p := e.read("alice", dev.Acked, 10)
		if p.Gap != c.gap {
			e.t.Fatalf("%s: read gap %d, want %d", c.device, p.Gap, c.gap)
		}
		e.checkSeqs(p.Entries, 151, 160)
		if n := e.index(p.Entries[0].Payload); n != 150 {
			e.t.Fatalf("oldest kept entry holds message %d, want 150", n)
		}
		if !p.More || p.Next != 160 {
			e.t.Fatalf("%s: More %v Next %d", c.device, p.More, p.Next)
		}
	}
	// A reader past the removed entries has no gap.
	if p := e.read("alice", 150, 1); p.Gap != 0 || p.Entries[0].Seq != 151 {
		e.t.Fatalf("read after 150: gap %d, %+v", p.Gap, p.Entries)
	}
	if p := e.read("alice", 250, 1); p.Gap != 0 || len(p.Entries) != 0 || p.Next != 250 {
		e.t.Fatalf("read at top: %+v", p)
	}
	// A device acking into the removed range keeps a gap of what it had
	// not acknowledged.
	if dev := e.ack("alice", "phone", 100); dev.Acked != 100 || dev.Gap != 50 || dev.Pending != 100 {
		e.t.Fatalf("ack into the removed range: %+v", dev)
	}
}

// bytesLimit is RetentionByBytes's limit: ten and a half entries of the
// messages it appends.
var bytesLimit = int64(10*EntryBytes(msg("room:1", "bob", 100)) + EntryBytes(msg("room:1", "bob", 100))/2)

// Retention by bytes counts EntryBytes, keeps whole entries, and never
// removes the last one.
func testRetentionByBytes(e *env) {
	size := EntryBytes(msg("room:1", "bob", 100)) // every payload {"i":1NN} has 9 bytes
	e.appendN("alice", "room:1", "bob", 100, 37)
	s := e.state("alice")
	if s.Kept() != 10 || s.Bytes != 10*size || s.Dropped != 27 || s.Oldest != 28 {
		e.t.Fatalf("state %+v, entry size %d", s, size)
	}
	if p := e.read("alice", 0, 1); p.Gap != 27 || p.Entries[0].Seq != 28 {
		e.t.Fatalf("read: gap %d, %+v", p.Gap, p.Entries)
	}
	// An entry over the whole limit is kept alone.
	big := msg("room:1", "bob", 0)
	big.FromDevice, big.Key = "phone", "k1"
	big.Payload = []byte(`"` + strings.Repeat("x", int(bytesLimit)) + `"`)
	e.append([]string{"alice"}, big)
	s = e.state("alice")
	if s.Kept() != 1 || s.Bytes != EntryBytes(big) || s.Oldest != 38 || s.Dropped != 37 {
		e.t.Fatalf("after an entry over the limit: %+v, its size %d", s, EntryBytes(big))
	}
	// The next one pushes it out.
	e.append([]string{"alice"}, msg("room:1", "bob", 101))
	if s := e.state("alice"); s.Kept() != 1 || s.Bytes != size || s.Oldest != 39 {
		e.t.Fatalf("after the next entry: %+v", s)
	}
}

// Retention by age removes, on an append, what aged out of the log
// appended to, and keeps what has not.
func testRetentionByAge(e *env) {
	e.appendN("alice", "room:1", "bob", 0, 10)
	e.appendN("carol", "room:1", "bob", 0, 4)
	e.clock.Advance(50 * time.Minute)
	e.appendN("alice", "room:2", "bob", 10, 5)
	if s := e.state("alice"); s.Kept() != 15 || s.Dropped != 0 {
		e.t.Fatalf("nothing is an hour old yet: %+v", s)
	}
	e.clock.Advance(20 * time.Minute)
	// The first ten are 70 minutes old, the next five 20.
	a := e.append([]string{"alice"}, msg("room:2", "bob", 15))
	s := e.state("alice")
	if a[0].Seq != 16 || s.Oldest != 11 || s.Dropped != 10 || s.Kept() != 6 || s.Unread != 6 {
		e.t.Fatalf("alice after an append 70 minutes on: %+v", s)
	}
	if _, err := e.s.Conversation(e.ctx, "alice", "room:1"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("room:1 aged out but is still there: %v", err)
	}
	if p := e.read("alice", 0, 0); p.Gap != 10 || len(p.Entries) != 6 || p.Entries[0].Seq != 11 {
		e.t.Fatalf("read after the age limit: gap %d, %d entries", p.Gap, len(p.Entries))
	}
	// A fan-out applies each recipient's limits to its own log. (Whether
	// a log nobody appends to is trimmed before that is the store's own
	// business: a sweep may run at any time.)
	e.clock.Advance(2 * time.Hour)
	a = e.append([]string{"alice", "carol"}, msg("room:3", "bob", 99))
	if s := e.state("alice"); s.Oldest != a[0].Seq || s.Dropped != 16 || s.Kept() != 1 || s.Unread != 1 {
		e.t.Fatalf("alice after an append two hours later: %+v", s)
	}
	if s := e.state("carol"); a[1].Seq != 5 || s.Oldest != 5 || s.Dropped != 4 || s.Kept() != 1 || s.Unread != 1 {
		e.t.Fatalf("carol after an append three hours on: %+v", s)
	}
}
