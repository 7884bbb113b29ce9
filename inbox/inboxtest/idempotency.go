package inboxtest

import "time"

// A retried append with the same sender and key, within the window, is
// stored once and answered with the first seqs; the key is the sender's;
// after the window it is new again.
func testIdempotentRetry(e *env) {
	m := msg("dm:alice:bob", "bob", 1)
	m.Key = "m-1"
	first := e.append([]string{"alice", "bob"}, m)
	e.appendN("alice", "room:1", "carol", 0, 2)
	for range 3 {
		e.clock.Advance(10 * time.Second)
		again := e.append([]string{"alice", "bob"}, m)
		for i := range again {
			// The entry's time too: a relay of the retry carries it.
			if !again[i].Duplicate || again[i].Seq != first[i].Seq || again[i].User != first[i].User || !again[i].Time.Equal(first[i].Time) {
				e.t.Fatalf("retry: %+v, first %+v", again, first)
			}
		}
	}
	if s := e.state("alice"); s.Top != 3 {
		e.t.Fatalf("alice's log holds %d entries, want 3: a retry was stored", s.Top)
	}
	if s := e.state("bob"); s.Top != 1 || s.Unread != 0 {
		e.t.Fatalf("bob's log: %+v, want 1 entry, his own", s)
	}

	// A retry to a larger group: the old recipients get their first seq,
	// the new one gets the entry.
	more := e.append([]string{"alice", "bob", "dave"}, m)
	if !more[0].Duplicate || !more[1].Duplicate || more[2].Duplicate || more[2].Seq != 1 || more[0].Seq != first[0].Seq {
		e.t.Fatalf("retry to a larger group: %+v", more)
	}

	// The key is the sender's: another sender's message with the same key
	// is another message.
	other := msg("dm:alice:carol", "carol", 2)
	other.Key = "m-1"
	if a := e.append([]string{"alice"}, other); a[0].Duplicate || a[0].Seq != 4 {
		e.t.Fatalf("same key from another sender: %+v", a)
	}

	// After the window the key is new again.
	e.clock.Advance(time.Minute)
	if a := e.append([]string{"bob"}, m); a[0].Duplicate || a[0].Seq != 2 {
		e.t.Fatalf("after the window: %+v", a)
	}
	// And is remembered from its new first append.
	if a := e.append([]string{"bob"}, m); !a[0].Duplicate || a[0].Seq != 2 {
		e.t.Fatalf("retry after the renewed key: %+v", a)
	}
}

// Keys are scoped to each recipient's log: a retry to fewer recipients,
// or with other content, stores nothing; the backend (From "") is a
// sender like any other.
func testIdempotencyPerRecipient(e *env) {
	m := msg("group:1", "", 1)
	m.Key = "notice-1"
	first := e.append([]string{"alice", "bob", "carol"}, m)
	retry := msg("group:1", "", 99)
	retry.Key = "notice-1"
	a := e.append([]string{"bob"}, retry)
	if !a[0].Duplicate || a[0].Seq != first[1].Seq {
		e.t.Fatalf("retry to one of the recipients: %+v, first %+v", a, first)
	}
	if p := e.read("bob", 0, 0); len(p.Entries) != 1 || e.index(p.Entries[0].Payload) != 1 || p.Entries[0].Key != "notice-1" {
		e.t.Fatalf("bob's log after the retry: %+v", p.Entries)
	}
	// The same key from a user is not the backend's.
	fromUser := msg("group:1", "dave", 2)
	fromUser.Key = "notice-1"
	if a := e.append([]string{"alice"}, fromUser); a[0].Duplicate || a[0].Seq != 2 {
		e.t.Fatalf("same key from a user: %+v", a)
	}
	// Without a key, the same message twice is two entries.
	plain := msg("group:1", "", 3)
	e.append([]string{"carol"}, plain)
	if a := e.append([]string{"carol"}, plain); a[0].Duplicate || a[0].Seq != 3 {
		e.t.Fatalf("a second append without a key: %+v", a)
	}
}
