package inbox

import (
	"sync"
	"testing"
	"time"
)

// TestConcurrentAppendsGetDistinctOrderedSeqs runs writers against one
// user under the committers that group differently from the contract
// suite's (which runs the os policy): every seq is assigned once, each
// writer's seqs rise, and the log holds every message once.
func TestConcurrentAppendsGetDistinctOrderedSeqs(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Options)
	}{
		{"group-window", func(o *Options) { o.Durability = DurabilityGroup; o.GroupWindow = time.Millisecond; o.MaxGroup = 4 }},
		{"always", func(o *Options) { o.Durability = DurabilityAlways }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, _ := openTest(t, c.edit)
			const writers, each = 8, 40
			seqs := make([][]uint64, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						a, err := d.Append(bg, []string{"alice", "w" + string(rune('a'+w))}, msg("room:1", "", w*each+i))
						if err != nil {
							t.Error(err)
							return
						}
						seqs[w] = append(seqs[w], a[0].Seq)
					}
				}()
			}
			// Readers alongside, on their snapshots.
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						if _, err := d.Read(bg, "alice", 0, 50); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			seen := make(map[uint64]bool)
			for w, s := range seqs {
				for i, seq := range s {
					if seen[seq] {
						t.Fatalf("seq %d assigned twice", seq)
					}
					seen[seq] = true
					if i > 0 && seq <= s[i-1] {
						t.Fatalf("writer %d: seq %d after %d", w, seq, s[i-1])
					}
				}
			}
			all := readAll(t, d, "alice", 0, 0)
			checkSeqs(t, all, 1, writers*each)
			got := make(map[int]bool)
			for _, e := range all {
				n := payloadIndex(t, e.Payload)
				if got[n] {
					t.Fatalf("message %d stored twice", n)
				}
				got[n] = true
			}
		})
	}
}
