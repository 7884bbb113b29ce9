package inboxtest

import (
	"errors"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Two devices of one user ack at different positions; each gets exactly
// its remainder, and Devices lists both by id.
func testTwoDevices(e *env) {
	e.appendN("alice", "room:1", "bob", 0, 1000)
	e.ack("alice", "phone", 300)
	e.ack("alice", "laptop", 700)
	for _, dev := range []struct {
		id    string
		acked uint64
	}{{"phone", 300}, {"laptop", 700}} {
		pos := e.device("alice", dev.id)
		if pos.ID != dev.id || pos.Acked != dev.acked || pos.Pending != 1000-dev.acked || pos.Gap != 0 {
			e.t.Fatalf("%s: %+v", dev.id, pos)
		}
		e.checkSeqs(e.readAll("alice", pos.Acked, 128), dev.acked+1, 1000)
	}
	devs, err := e.s.Devices(e.ctx, "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].ID != "laptop" || devs[0].Acked != 700 || devs[0].Pending != 300 ||
		devs[1].ID != "phone" || devs[1].Acked != 300 || devs[1].Pending != 700 {
		e.t.Fatalf("devices %+v", devs)
	}
}

// Acks are cumulative, monotonic and clamped to the top; each sets the
// last-seen time; one device more than the limit forgets the least
// recently seen; a forgotten device is gone.
func testAckMonotonic(e *env) {
	e.appendN("alice", "room:1", "bob", 0, 10)
	created := e.clock.Now()
	if dev := e.ack("alice", "a", 5); dev.ID != "a" || dev.Acked != 5 || dev.Pending != 5 || !dev.Created.Equal(created) || !dev.LastSeen.Equal(created) {
		e.t.Fatalf("ack 5: %+v", dev)
	}
	e.clock.Advance(time.Minute)
	if dev := e.ack("alice", "a", 3); dev.Acked != 5 || !dev.LastSeen.Equal(created.Add(time.Minute)) || !dev.Created.Equal(created) {
		e.t.Fatalf("older ack moved the position or missed last seen: %+v", dev)
	}
	if dev := e.ack("alice", "a", 99); dev.Acked != 10 || dev.Pending != 0 {
		e.t.Fatalf("ack beyond the top not clamped: %+v", dev)
	}
	if dev := e.device("alice", "a"); dev.Acked != 10 || !dev.LastSeen.Equal(created.Add(time.Minute)) || !dev.Created.Equal(created) {
		e.t.Fatalf("device as stored: %+v", dev)
	}
	e.clock.Advance(time.Minute)
	e.ack("alice", "b", 1)
	e.clock.Advance(time.Minute)
	e.ack("alice", "c", 2)
	e.clock.Advance(time.Minute)
	e.ack("alice", "a", 10) // a is now the most recently seen
	e.clock.Advance(time.Minute)
	e.ack("alice", "d", 4) // evicts b, the least recently seen
	if _, err := e.s.Device(e.ctx, "alice", "b"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("evicted device: %v, want ErrNotFound", err)
	}
	devs, err := e.s.Devices(e.ctx, "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(devs) != 3 || devs[0].ID != "a" || devs[1].ID != "c" || devs[2].ID != "d" {
		e.t.Fatalf("devices after eviction: %+v", devs)
	}
	if err := e.s.ForgetDevice(e.ctx, "alice", "c"); err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.ForgetDevice(e.ctx, "alice", "never"); err != nil {
		e.t.Fatalf("forgetting an unknown device: %v", err)
	}
	if _, err := e.s.Device(e.ctx, "alice", "c"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("forgotten device: %v, want ErrNotFound", err)
	}
	if _, err := e.s.Device(e.ctx, "nobody", "c"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("device of an unknown user: %v, want ErrNotFound", err)
	}
	// A forgotten device that acks again is a new one.
	e.clock.Advance(time.Minute)
	if dev := e.ack("alice", "c", 1); dev.Acked != 1 || !dev.Created.Equal(e.clock.Now()) {
		e.t.Fatalf("a forgotten device acking again: %+v", dev)
	}
	// Forgetting leaves the log alone.
	if s := e.state("alice"); s.Top != 10 {
		e.t.Fatalf("state after forgetting: %+v", s)
	}
}

// The first ack of a user with no log records the device under an empty
// log, which Users lists; the first append then continues that log.
func testAckCreatesLog(e *env) {
	dev := e.ack("zed", "phone", 7)
	if dev.Acked != 0 || dev.Pending != 0 || dev.Gap != 0 {
		e.t.Fatalf("ack of a user with no log: %+v", dev)
	}
	s := e.state("zed")
	if s.Epoch == 0 || s.Top != 0 || s.Oldest != 1 || s.Kept() != 0 || s.Unread != 0 || !s.Created.Equal(Start) {
		e.t.Fatalf("state after the first ack: %+v", s)
	}
	if p := e.users("", 0); len(p.Users) != 1 || p.Users[0].User != "zed" || p.Users[0].State != s {
		e.t.Fatalf("users after the first ack: %+v", p)
	}
	e.clock.Advance(time.Second)
	a := e.append([]string{"zed"}, msg("room:1", "bob", 1))
	if a[0].Seq != 1 {
		e.t.Fatalf("first append: %+v", a)
	}
	after := e.state("zed")
	if after.Epoch != s.Epoch || after.Top != 1 || !after.Created.Equal(Start) || !after.Updated.Equal(Start.Add(time.Second)) {
		e.t.Fatalf("state after the first append %+v, before %+v", after, s)
	}
	if dev := e.device("zed", "phone"); dev.Acked != 0 || dev.Pending != 1 {
		e.t.Fatalf("device after the first append: %+v", dev)
	}
}
