package inbox

import (
	"testing"
	"time"
)

func TestIdempotentRetryStoresOnce(t *testing.T) {
	d, c := openTest(t, func(o *Options) { o.IdempotencyWindow = time.Minute })
	m := msg("dm:alice:bob", "bob", 1)
	m.Key = "m-1"
	first := mustAppend(t, d, []string{"alice", "bob"}, m)
	appendN(t, d, "alice", "room:1", "carol", 0, 2)
	for range 3 {
		c.advance(10 * time.Second)
		again := mustAppend(t, d, []string{"alice", "bob"}, m)
		for i := range again {
			if !again[i].Duplicate || again[i].Seq != first[i].Seq || again[i].User != first[i].User {
				t.Fatalf("retry: %+v, first %+v", again, first)
			}
		}
	}
	if s := mustState(t, d, "alice"); s.Top != 3 {
		t.Fatalf("alice's log holds %d entries, want 3: a retry was stored", s.Top)
	}
	if s := mustState(t, d, "bob"); s.Top != 1 {
		t.Fatalf("bob's log holds %d entries, want 1", s.Top)
	}

	// A retry to a larger group: the old recipients get their first seq,
	// the new one gets the entry.
	more := mustAppend(t, d, []string{"alice", "bob", "dave"}, m)
	if !more[0].Duplicate || !more[1].Duplicate || more[2].Duplicate || more[2].Seq != 1 || more[0].Seq != first[0].Seq {
		t.Fatalf("retry to a larger group: %+v", more)
	}

	// The key is the sender's: another sender's message with the same key
	// is another message.
	other := msg("dm:alice:carol", "carol", 2)
	other.Key = "m-1"
	if a := mustAppend(t, d, []string{"alice"}, other); a[0].Duplicate || a[0].Seq != 4 {
		t.Fatalf("same key from another sender: %+v", a)
	}

	// After the window the key is new again.
	c.advance(time.Minute)
	if a := mustAppend(t, d, []string{"bob"}, m); a[0].Duplicate || a[0].Seq != 2 {
		t.Fatalf("after the window: %+v", a)
	}
}

func TestIdempotencyRecordsExpireInTheSweep(t *testing.T) {
	d, c := openTest(t, func(o *Options) { o.IdempotencyWindow = time.Minute })
	for i := range 5 {
		m := msg("room:1", "bob", i)
		m.Key = "k" + string(rune('a'+i))
		mustAppend(t, d, []string{"alice", "carol"}, m)
	}
	if err := d.DeleteUser(bg, "carol"); err != nil {
		t.Fatal(err)
	}
	c.advance(30 * time.Second)
	if st, err := d.Sweep(bg); err != nil || st.Expired != 0 {
		t.Fatalf("sweep inside the window: %+v, %v", st, err)
	}
	c.advance(31 * time.Second)
	st, err := d.Sweep(bg)
	if err != nil {
		t.Fatal(err)
	}
	// alice's 5 records and the 5 index entries left by carol's deletion.
	if st.Expired != 10 {
		t.Fatalf("sweep expired %d, want 10", st.Expired)
	}
	if st, _ := d.Sweep(bg); st.Expired != 0 {
		t.Fatalf("second sweep expired %d", st.Expired)
	}
	err = d.view(func(tx *boltTx) error {
		if b := tx.Bucket(usersBucket).Bucket([]byte("alice")).Bucket(idemBucket); b != nil {
			if k, _ := b.Cursor().First(); k != nil {
				t.Errorf("idempotency record %q survived the sweep", k)
			}
		}
		if k, _ := tx.Bucket(expiryBucket).Cursor().First(); k != nil {
			t.Errorf("expiry entry %q survived the sweep", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
