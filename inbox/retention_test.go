package inbox

import (
	"testing"
	"time"
)

func TestRetentionByCountReportsExactGap(t *testing.T) {
	d, _ := openTest(t, func(o *Options) { o.Retention.MaxEntries = 100 })
	mustAck(t, d, "alice", "phone", 0)
	appendN(t, d, "alice", "room:1", "bob", 0, 250)
	mustAck(t, d, "alice", "laptop", 120)
	s := mustState(t, d, "alice")
	if s.Top != 250 || s.Oldest != 151 || s.Dropped != 150 || s.Kept() != 100 {
		t.Fatalf("state %+v", s)
	}
	for _, c := range []struct {
		device string
		gap    uint64
	}{{"phone", 150}, {"laptop", 30}} {
		dev, err := d.Device(bg, "alice", c.device)
		if err != nil {
			t.Fatal(err)
		}
		if dev.Gap != c.gap || dev.Pending != 100 {
			t.Fatalf("%s: %+v, want gap %d", c.device, dev, c.gap)
		}
		p, err := d.Read(bg, "alice", dev.Acked, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Gap != c.gap {
			t.Fatalf("%s: read gap %d, want %d", c.device, p.Gap, c.gap)
		}
		checkSeqs(t, p.Entries, 151, 160)
		if n := payloadIndex(t, p.Entries[0].Payload); n != 150 {
			t.Fatalf("oldest kept entry holds message %d, want 150", n)
		}
	}
	// A reader past the removed entries has no gap.
	if p, _ := d.Read(bg, "alice", 150, 1); p.Gap != 0 || p.Entries[0].Seq != 151 {
		t.Fatalf("read after 150: gap %d, %+v", p.Gap, p.Entries)
	}
	// An empty log after a full trim still counts what it removed.
	if p, _ := d.Read(bg, "alice", 250, 1); p.Gap != 0 || len(p.Entries) != 0 {
		t.Fatalf("read at top: %+v", p)
	}
}

func TestRetentionByBytes(t *testing.T) {
	m := msg("room:1", "bob", 100) // every payload {"i":1NN} has 9 bytes
	size := uint64(entrySize(&m))
	d, _ := openTest(t, func(o *Options) { o.Retention.MaxBytes = int64(10*size + size/2) })
	appendN(t, d, "alice", "room:1", "bob", 100, 37)
	s := mustState(t, d, "alice")
	if s.Kept() != 10 || s.Bytes != 10*size || s.Dropped != 27 || s.Oldest != 28 {
		t.Fatalf("state %+v, entry size %d", s, size)
	}
	if p, _ := d.Read(bg, "alice", 0, 1); p.Gap != 27 || p.Entries[0].Seq != 28 {
		t.Fatalf("read: gap %d, %+v", p.Gap, p.Entries)
	}
}

func TestRetentionByAgeOnAppendAndSweep(t *testing.T) {
	d, c := openTest(t, func(o *Options) { o.Retention.MaxAge = time.Hour })
	appendN(t, d, "alice", "room:1", "bob", 0, 10)
	appendN(t, d, "carol", "room:1", "bob", 0, 4)
	c.advance(50 * time.Minute)
	appendN(t, d, "alice", "room:1", "bob", 10, 5)
	if s := mustState(t, d, "alice"); s.Kept() != 15 {
		t.Fatalf("nothing is an hour old yet: %+v", s)
	}
	c.advance(20 * time.Minute)
	st, err := d.Sweep(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped != 14 || st.Users != 2 || !st.Wrapped {
		t.Fatalf("sweep %+v, want 10+4 dropped over 2 users", st)
	}
	if s := mustState(t, d, "alice"); s.Oldest != 11 || s.Dropped != 10 || s.Kept() != 5 {
		t.Fatalf("alice after sweep: %+v", s)
	}
	if s := mustState(t, d, "carol"); s.Kept() != 0 || s.Dropped != 4 || s.Oldest != 5 || s.Bytes != 0 {
		t.Fatalf("carol after sweep: %+v", s)
	}
	if st, _ := d.Sweep(bg); st.Dropped != 0 {
		t.Fatalf("second sweep dropped %d", st.Dropped)
	}
	// An append removes what aged out of its own log at once.
	c.advance(time.Hour)
	a := mustAppend(t, d, []string{"alice"}, msg("room:1", "bob", 99))
	if s := mustState(t, d, "alice"); s.Oldest != a[0].Seq || s.Dropped != 15 {
		t.Fatalf("alice after an append an hour later: %+v", s)
	}
}

func TestSweepIsBoundedAndResumes(t *testing.T) {
	d, c := openTest(t, func(o *Options) {
		o.Retention.MaxAge = time.Hour
		o.SweepUsers = 3
	})
	for i := range 10 {
		appendN(t, d, "user"+string(rune('a'+i)), "room:1", "bob", 0, 2)
	}
	c.advance(2 * time.Hour)
	visited, dropped := 0, 0
	for step := 1; ; step++ {
		st, err := d.Sweep(bg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Users > 3 {
			t.Fatalf("step %d visited %d users", step, st.Users)
		}
		visited += st.Users
		dropped += st.Dropped
		if st.Wrapped {
			if step != 4 {
				t.Fatalf("wrapped after %d steps, want 4", step)
			}
			break
		}
		if step > 10 {
			t.Fatal("sweep never wrapped")
		}
	}
	if visited != 10 || dropped != 20 {
		t.Fatalf("visited %d, dropped %d", visited, dropped)
	}
}

func TestBackgroundSweep(t *testing.T) {
	d, c := openTest(t, func(o *Options) {
		o.Retention.MaxAge = time.Hour
		o.SweepInterval = time.Millisecond
	})
	appendN(t, d, "alice", "room:1", "bob", 0, 3)
	c.advance(2 * time.Hour)
	// Wait for the event, with a deadline: the sweep runs every ms.
	deadline := time.Now().Add(30 * time.Second)
	for mustState(t, d, "alice").Dropped != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("background sweep did not remove the entries: %+v", mustState(t, d, "alice"))
		}
		time.Sleep(time.Millisecond)
	}
}
