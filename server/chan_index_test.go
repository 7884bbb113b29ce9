package server

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestChanIndexMatchesMap drives an index with random adds
// and removes and checks it against a map after each step: every name in
// the map is found at its record, no other is, and m holds exactly them.
func TestChanIndexMatchesMap(t *testing.T) {
	sh := &chanIndex{seed: maphash.MakeSeed()}
	model := map[string]*localChannel{}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(step int) {
		t.Helper()
		if len(sh.m) != len(model) {
			t.Fatalf("step %d: %d records, want %d", step, len(sh.m), len(model))
		}
		for name, lc := range model {
			if got := sh.find(name, maphash.String(sh.seed, name)); got != lc {
				t.Fatalf("step %d: find(%q) = %p, want %p", step, name, got, lc)
			}
		}
		for i := 0; i < 20; i++ {
			name := "absent" + strconv.Itoa(rng.IntN(1000))
			if sh.find(name, maphash.String(sh.seed, name)) != nil {
				t.Fatalf("step %d: found %q, never added", step, name)
			}
		}
	}
	for step := 0; step < 4000; step++ {
		name := "ch" + strconv.Itoa(rng.IntN(600))
		h := maphash.String(sh.seed, name)
		if lc := model[name]; lc == nil && rng.IntN(3) != 0 {
			lc = &localChannel{interest: interest{name: name}}
			sh.insert(lc, h)
			model[name] = lc
		} else if lc != nil {
			sh.removeAt(sh.lookup(name, h))
			delete(model, name)
		}
		if step%97 == 0 {
			sh.shrink()
		}
		check(step)
	}
	for name := range model { // empty it: the shard gives its memory back
		sh.removeAt(sh.lookup(name, maphash.String(sh.seed, name)))
		delete(model, name)
	}
	sh.shrink()
	check(-1)
	if cap(sh.m) > 64 || len(sh.idx) > 8 {
		t.Fatalf("emptied index keeps %d records' room and %d slots", cap(sh.m), len(sh.idx))
	}
}
