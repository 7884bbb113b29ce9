package memory

import (
	"math/rand/v2"
	"testing"
)

// TestInterestCountsMatchMap drives the counts with random increments and
// decrements on a few hashes that collide in the table (same slot bits)
// and checks each count against a map after each step.
func TestInterestCountsMatchMap(t *testing.T) {
	var c interestCounts
	model := map[uint64]int32{}
	rng := rand.New(rand.NewPCG(3, 4))
	for step := 0; step < 20000; step++ {
		// Hashes sharing low bits probe from neighbouring homes; 0 is
		// stored as 1, so they share a count, as any two names of one hash.
		h := uint64(rng.IntN(300)) << 6 * uint64(1+rng.IntN(2))
		k := max(h, 1)
		if rng.IntN(5) < 3 {
			c.inc(h)
			model[k]++
		} else if got, want := c.dec(h), max(model[k]-1, 0); got != want {
			t.Fatalf("step %d: dec(%#x) = %d, want %d", step, h, got, want)
		} else if want == 0 {
			delete(model, k)
		} else {
			model[k] = want
		}
		if c.used != len(model) {
			t.Fatalf("step %d: %d counts, want %d", step, c.used, len(model))
		}
		if step%50 == 0 {
			for k, n := range model {
				if got := c.get(k); got != n {
					t.Fatalf("step %d: get(%#x) = %d, want %d", step, k, got, n)
				}
			}
		}
	}
	for k, n := range model {
		for ; n > 0; n-- {
			c.dec(k)
		}
	}
	if c.used != 0 || c.keys != nil {
		t.Fatalf("emptied counts keep %d entries, %d slots", c.used, len(c.keys))
	}
}
