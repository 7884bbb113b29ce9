package inbox

import (
	"testing"
	"time"
)

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
