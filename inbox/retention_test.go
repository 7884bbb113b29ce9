package inbox

import (
	"sync"
	"testing"
	"time"
)

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

// A step that stops inside the first user of a round (more than 4,096
// entries to remove) has not wrapped: the round goes on from that user.
func TestSweepStoppedInTheFirstUserHasNotWrapped(t *testing.T) {
	d, c := openTest(t, func(o *Options) {
		o.Retention.MaxAge = time.Hour
		o.Retention.MaxEntries = -1
	})
	// Appended from 16 goroutines, so that the committer groups them.
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < maxSweepDrops+10; i += 16 {
				if _, err := d.Append(bg, []string{"alice"}, msg("room:1", "bob", i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.advance(2 * time.Hour)
	st, err := d.Sweep(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped != maxSweepDrops || st.Wrapped {
		t.Fatalf("first step: %+v, want %d dropped and not wrapped", st, maxSweepDrops)
	}
	if st, err = d.Sweep(bg); err != nil || st.Dropped != 10 || st.Users != 1 || !st.Wrapped {
		t.Fatalf("second step: %+v, %v", st, err)
	}
}
