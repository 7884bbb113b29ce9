package redis

import (
	"strconv"
	"testing"
	"time"

	"github.com/comet-im/comet/inbox/inboxtest"
	"github.com/comet-im/comet/internal/testredis"
)

// The sweep removes what aged out of logs nobody appends to, and expired
// idempotency records, visiting SweepUsers users per step.
func TestSweepAgeAndIdempotency(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	clock := inboxtest.NewClock()
	cfg := testConfig(srv.Addr())
	cfg.Now = clock.Now
	cfg.Retention.MaxAge = time.Hour
	cfg.IdempotencyWindow = time.Minute
	cfg.SweepUsers = 3
	s := open(t, cfg)
	for i := range 10 {
		u := "user" + string(rune('a'+i))
		for j := range 2 {
			m := msg("room:1", "bob", j)
			m.Key = "k" + strconv.Itoa(j)
			if _, err := s.Append(bg, []string{u}, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Advance(30 * time.Minute)
	st, err := s.Sweep(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Users != 3 || st.Dropped != 0 || st.Expired != 6 || st.Wrapped {
		t.Fatalf("first step at 30 min: %+v, want 3 users, their 6 keys expired", st)
	}
	clock.Advance(time.Hour)
	visited, dropped, expired := 3, 0, 6
	for step := 2; ; step++ {
		st, err := s.Sweep(bg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Users > 3 {
			t.Fatalf("step %d visited %d users", step, st.Users)
		}
		visited += st.Users
		dropped += st.Dropped
		expired += st.Expired
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
	// The first round visited 10 users; the second round's first three
	// steps (0..8) dropped all but the first three users' entries.
	if visited != 10 || dropped != 14 || expired != 20 {
		t.Fatalf("visited %d, dropped %d, expired %d", visited, dropped, expired)
	}
	for i := range 10 {
		u := "user" + string(rune('a'+i))
		want := uint64(2)
		if i < 3 {
			want = 0 // visited in the first round, at 30 minutes
		}
		if st, _ := s.State(bg, u); st.Dropped != want || st.Oldest != want+1 {
			t.Fatalf("%s after the sweep: %+v", u, st)
		}
	}
	// The next round takes the first three.
	st, err = s.Sweep(bg)
	if err != nil || st.Dropped != 6 {
		t.Fatalf("next round: %+v, %v", st, err)
	}
	if st, _ := s.State(bg, "usera"); st.Kept() != 0 || st.Dropped != 2 || st.Bytes != 0 || st.Unread != 0 {
		t.Fatalf("usera after the sweep: %+v", st)
	}
}

// One step removes at most 4,096 entries in all; users with more left are
// visited again.
func TestSweepIsBounded(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	clock := inboxtest.NewClock()
	cfg := testConfig(srv.Addr())
	cfg.Now = clock.Now
	cfg.Retention.MaxAge = time.Hour
	s := open(t, cfg)
	to := make([]string, 256)
	for i := range to {
		to[i] = "u" + strconv.Itoa(1000+i)
	}
	for i := range 40 {
		if _, err := s.Append(bg, to, msg("group:1", "bob", i)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Hour)
	var steps []int
	for step := 0; ; step++ {
		st, err := s.Sweep(bg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Dropped > 4096 {
			t.Fatalf("step %d dropped %d", step, st.Dropped)
		}
		steps = append(steps, st.Dropped)
		if st.Wrapped {
			if st.Users != 256 {
				t.Fatalf("the last step visited %d users", st.Users)
			}
			break
		}
		if st.Users != 0 || step > 5 {
			t.Fatalf("step %d: %+v", step, st)
		}
	}
	// 16 per user per step: 40 entries take three steps.
	if len(steps) != 3 || steps[0] != 4096 || steps[1] != 4096 || steps[2] != 2048 {
		t.Fatalf("dropped per step %v", steps)
	}
	if st, _ := s.State(bg, to[255]); st.Kept() != 0 || st.Dropped != 40 {
		t.Fatalf("the last user after the sweep: %+v", st)
	}
}

// The background sweep: one node of those sharing the Redis takes each
// round and removes what aged out.
func TestBackgroundSweep(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	clock := inboxtest.NewClock()
	cfg := testConfig(srv.Addr())
	cfg.Now = clock.Now
	cfg.Retention.MaxAge = time.Hour
	cfg.SweepInterval = 20 * time.Millisecond
	a, b := open(t, cfg), open(t, cfg)
	if _, err := a.Append(bg, []string{"alice"}, msg("room:1", "bob", 1)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	eventually(t, "the background sweep", func() bool {
		st, err := b.State(bg, "alice")
		return err == nil && st.Dropped == 1
	})
	if v, err := srv.Do("EXISTS", cfg.Prefix+"inbox:sweep"); err != nil || v != int64(1) {
		// The lease lives one interval; it may just have expired.
		t.Logf("sweep lease: %v, %v", v, err)
	}
}
