package wheel

import (
	"math/rand"
	"slices"
	"testing"
)

type owner struct {
	id    int
	timer Timer[*owner]
}

func newOwner(id int) *owner {
	o := &owner{id: id}
	o.timer.Owner = o
	return o
}

func TestFiresInDueOrderAcrossRevolutions(t *testing.T) {
	w := New[*owner](16)
	var fired []int
	delays := []int64{1, 5, 16, 17, 33, 100, 3}
	for i, d := range delays {
		w.Schedule(&newOwner(i).timer, d)
	}
	at := map[int]int64{}
	for tick := int64(1); tick <= 100; tick++ {
		w.Advance(tick, func(o *owner) { fired = append(fired, o.id); at[o.id] = tick })
	}
	if len(fired) != len(delays) {
		t.Fatalf("fired %d timers, want %d", len(fired), len(delays))
	}
	for i, d := range delays {
		if at[i] != d {
			t.Errorf("timer %d fired at tick %d, want %d", i, at[i], d)
		}
	}
	if w.Len() != 0 {
		t.Fatalf("Len = %d after all fired", w.Len())
	}
}

func TestCancelAndReschedule(t *testing.T) {
	w := New[*owner](16)
	a, b := newOwner(1), newOwner(2)
	w.Schedule(&a.timer, 4)
	w.Schedule(&b.timer, 4)
	w.Cancel(&a.timer)
	w.Cancel(&a.timer) // idempotent
	w.Schedule(&b.timer, 10)
	var fired []int
	w.Advance(9, func(o *owner) { fired = append(fired, o.id) })
	if len(fired) != 0 {
		t.Fatalf("fired %v before tick 10", fired)
	}
	w.Advance(10, func(o *owner) { fired = append(fired, o.id) })
	if !slices.Equal(fired, []int{2}) {
		t.Fatalf("fired %v, want [2]", fired)
	}
	if a.timer.Scheduled() || b.timer.Scheduled() {
		t.Fatal("timers still report scheduled")
	}
}

// A callback that cancels another due timer of the same slot must stop it
// from firing, and one that re-arms itself must fire again a period later.
func TestCallbackCancelsAndRearms(t *testing.T) {
	w := New[*owner](16)
	a, b, c := newOwner(1), newOwner(2), newOwner(3)
	for _, o := range []*owner{a, b, c} {
		w.Schedule(&o.timer, 2)
	}
	var fired []int
	fire := func(o *owner) {
		fired = append(fired, o.id)
		if o == a {
			w.Cancel(&b.timer)
			w.Schedule(&a.timer, 16) // same slot, next revolution
		}
	}
	w.Advance(2, fire)
	if !slices.Equal(fired, []int{1, 3}) {
		t.Fatalf("fired %v at tick 2, want [1 3]", fired)
	}
	w.Advance(18, fire)
	if !slices.Equal(fired, []int{1, 3, 1}) {
		t.Fatalf("fired %v by tick 18, want [1 3 1]", fired)
	}
}

// Random schedules and cancels agree with a naive oracle.
func TestAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	w := New[*owner](64)
	owners := make([]*owner, 200)
	due := map[int]int64{}
	for i := range owners {
		owners[i] = newOwner(i)
	}
	for tick := int64(0); tick < 2000; tick++ {
		for k := 0; k < 3; k++ {
			o := owners[rng.Intn(len(owners))]
			if rng.Intn(4) == 0 {
				w.Cancel(&o.timer)
				delete(due, o.id)
			} else {
				d := int64(1 + rng.Intn(300))
				w.Schedule(&o.timer, d)
				due[o.id] = tick + d
			}
		}
		w.Advance(tick+1, func(o *owner) {
			if due[o.id] != tick+1 {
				t.Fatalf("timer %d fired at %d, oracle says %d", o.id, tick+1, due[o.id])
			}
			delete(due, o.id)
		})
		for id, d := range due {
			if d <= tick+1 {
				t.Fatalf("timer %d due at %d did not fire by %d", id, d, tick+1)
			}
		}
		if w.Len() != len(due) {
			t.Fatalf("Len %d, oracle %d", w.Len(), len(due))
		}
	}
}

func BenchmarkScheduleCancel(b *testing.B) {
	w := New[*owner](512)
	o := newOwner(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.Schedule(&o.timer, int64(i&1023)+1)
		w.Cancel(&o.timer)
	}
}

func BenchmarkAdvance10k(b *testing.B) {
	w := New[*owner](512)
	owners := make([]*owner, 10000)
	for i := range owners {
		owners[i] = newOwner(i)
		w.Schedule(&owners[i].timer, int64(i%250)+1)
	}
	fire := func(o *owner) { w.Schedule(&o.timer, 250) }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Advance(w.Now()+1, fire)
	}
}
