package inbox

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is the tests' time seam: it moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openTest opens a store in a fresh directory with the os policy (the
// logic under test does not depend on fsync; TestCrash covers each
// policy), no background sweep and a test clock; edit changes options.
func openTest(t testing.TB, edit func(*Options)) (*DB, *clock) {
	t.Helper()
	c := newClock()
	o := Options{Durability: DurabilityOS, SweepInterval: -1, Now: c.now}
	if edit != nil {
		edit(&o)
	}
	d, err := Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, c
}

var bg = context.Background()

// msg is message i of a conversation, its payload {"i":i}.
func msg(conv, from string, i int) Message {
	return Message{Conversation: conv, From: from, Payload: []byte(`{"i":` + strconv.Itoa(i) + `}`)}
}

// payloadIndex returns i from a payload msg made.
func payloadIndex(t testing.TB, p []byte) int {
	t.Helper()
	var v struct{ I int }
	if err := json.Unmarshal(p, &v); err != nil {
		t.Fatalf("payload %q: %v", p, err)
	}
	return v.I
}

func mustAppend(t testing.TB, d *DB, to []string, m Message) []Appended {
	t.Helper()
	a, err := d.Append(bg, to, m)
	if err != nil {
		t.Fatalf("append %q to %v: %v", m.Payload, to, err)
	}
	return a
}

// appendN appends n messages (payload indexes from..from+n-1) to user.
func appendN(t testing.TB, d *DB, user, conv, from string, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		mustAppend(t, d, []string{user}, msg(conv, from, i))
	}
}

// readAll reads the user's log after `after` page by page of limit, and
// checks the pages chain.
func readAll(t testing.TB, d *DB, user string, after uint64, limit int) []Entry {
	t.Helper()
	var all []Entry
	for range 100_000 {
		p, err := d.Read(bg, user, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && len(p.Entries) > limit {
			t.Fatalf("page of %d entries, limit %d", len(p.Entries), limit)
		}
		all = append(all, p.Entries...)
		if !p.More {
			return all
		}
		if p.Next <= after || len(p.Entries) == 0 {
			t.Fatalf("page after %d: More with Next %d and %d entries", after, p.Next, len(p.Entries))
		}
		after = p.Next
	}
	t.Fatal("read did not end")
	return nil
}

func mustState(t testing.TB, d *DB, user string) State {
	t.Helper()
	s, err := d.State(bg, user)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustAck(t testing.TB, d *DB, user, device string, seq uint64) Device {
	t.Helper()
	dev, err := d.Ack(bg, user, device, seq)
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// checkSeqs checks that entries are exactly the seqs from..to, in order.
func checkSeqs(t testing.TB, entries []Entry, from, to uint64) {
	t.Helper()
	if want := int(to - from + 1); from > to && len(entries) != 0 || from <= to && len(entries) != want {
		t.Fatalf("%d entries, want seqs %d..%d", len(entries), from, to)
	}
	for i, e := range entries {
		if e.Seq != from+uint64(i) {
			t.Fatalf("entry %d has seq %d, want %d", i, e.Seq, from+uint64(i))
		}
	}
}
