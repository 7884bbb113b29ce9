// Package wheel is a hashed timing wheel with intrusive timers: O(1) schedule,
// O(1) cancel, and no allocation per timer.
//
// It is the Varghese–Lauck design that netty's HashedWheelTimer popularised:
// time is cut into ticks, a timer due at tick t hangs in slot t mod len(slots),
// and advancing the wheel by one tick visits one slot. Timers further away
// than one revolution stay in their slot and are skipped until their tick
// comes round, so the wheel never needs a second level for the 10–60 s
// timeouts a push server uses (handshakes, pings, long-poll holds).
//
// The Timer node lives inside the owner's own struct (a connection's state),
// which is why scheduling allocates nothing: a parked long-poll or an idle
// WebSocket costs only the node's three words.
//
// Concurrency: a Wheel and its Timers are owned by one goroutine, the event
// loop that owns the connections. Nothing here locks. The package imports
// only the standard library and must not import gnet or any Comet package.
package wheel

// Timer is an intrusive wheel node. Embed it in the struct it times out;
// the zero value is an unscheduled timer.
type Timer[T any] struct {
	next, prev *Timer[T] // nil when not scheduled
	due        int64     // absolute tick at which it fires
	// Owner is handed back to the expiry callback.
	Owner T
}

// Scheduled reports whether the timer is waiting in a wheel.
func (t *Timer[T]) Scheduled() bool { return t.next != nil }

// Wheel holds timers in a ring of slots, each slot a doubly linked list.
type Wheel[T any] struct {
	slots []Timer[T] // sentinels: slots[i].next is the first timer of slot i
	mask  int64
	now   int64 // current tick: every timer with due <= now has fired
	count int
	// firing holds the timers of the slot being expired; Cancel works on it
	// like on any slot, so a callback may cancel a timer about to fire.
	firing Timer[T]
}

// New returns a wheel with at least slots slots (rounded up to a power of
// two, minimum 16) positioned at tick 0.
func New[T any](slots int) *Wheel[T] {
	n := 16
	for n < slots {
		n <<= 1
	}
	w := &Wheel[T]{slots: make([]Timer[T], n), mask: int64(n - 1)}
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s
	}
	return w
}

// Now returns the wheel's current tick.
func (w *Wheel[T]) Now() int64 { return w.now }

// Len returns the number of scheduled timers.
func (w *Wheel[T]) Len() int { return w.count }

// Schedule arms t to fire after ticks ticks (at least one), replacing any
// earlier schedule of t.
func (w *Wheel[T]) Schedule(t *Timer[T], ticks int64) {
	if t.next != nil {
		w.Cancel(t)
	}
	if ticks < 1 {
		ticks = 1
	}
	t.due = w.now + ticks
	slot := &w.slots[t.due&w.mask]
	// Append at the tail so timers due on the same tick fire in the order
	// they were scheduled.
	t.prev = slot.prev
	t.next = slot
	slot.prev.next = t
	slot.prev = t
	w.count++
}

// Cancel disarms t; cancelling an unscheduled timer does nothing.
func (w *Wheel[T]) Cancel(t *Timer[T]) {
	if t.next == nil {
		return
	}
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
	w.count--
}

// Advance moves the wheel forward to tick to, calling fire for every timer
// that falls due, in due order. fire may schedule or cancel any timer,
// including the one it was given (to re-arm it).
func (w *Wheel[T]) Advance(to int64, fire func(T)) {
	firing := &w.firing
	if firing.next == nil {
		firing.next, firing.prev = firing, firing
	}
	for w.now < to {
		w.now++
		slot := &w.slots[w.now&w.mask]
		// Move the due timers to a side list before firing any: a callback
		// may cancel or re-arm other timers of this slot, and a timer
		// re-armed into this slot (one revolution later) must not be
		// visited again on this tick.
		for t := slot.next; t != slot; {
			next := t.next
			if t.due <= w.now {
				t.prev.next = t.next
				t.next.prev = t.prev
				t.prev = firing.prev
				t.next = firing
				firing.prev.next = t
				firing.prev = t
			}
			t = next
		}
		for firing.next != firing {
			t := firing.next
			w.Cancel(t)
			fire(t.Owner)
		}
	}
}
