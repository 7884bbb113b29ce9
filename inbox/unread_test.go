package inbox

import (
	"errors"
	"testing"
)

func TestUnreadCountsAndReadMarkers(t *testing.T) {
	d, _ := openTest(t, nil)
	dm := []string{"alice", "bob"}
	// alice's log: 1 a, 2 b, 3 a, 4 b, 5 b (dm); 6, 7 group from carol.
	for i, from := range []string{"alice", "bob", "alice", "bob", "bob"} {
		mustAppend(t, d, dm, msg("dm:alice:bob", from, i))
	}
	mustAppend(t, d, []string{"alice", "carol"}, msg("group:1", "carol", 5))
	mustAppend(t, d, []string{"alice", "carol"}, msg("group:1", "carol", 6))

	if s := mustState(t, d, "alice"); s.Unread != 5 {
		t.Fatalf("alice unread %d, want 3 from bob + 2 from carol", s.Unread)
	}
	if s := mustState(t, d, "bob"); s.Unread != 2 {
		t.Fatalf("bob unread %d, want alice's 2", s.Unread)
	}
	if s := mustState(t, d, "carol"); s.Unread != 0 {
		t.Fatalf("carol unread %d: her own messages counted", s.Unread)
	}
	cv, err := d.Conversation(bg, "alice", "dm:alice:bob")
	if err != nil {
		t.Fatal(err)
	}
	if cv.Unread != 3 || cv.Kept != 5 || cv.Read != 0 || cv.LastSeq != 5 {
		t.Fatalf("alice's dm: %+v", cv)
	}

	// Reading up to seq 2 (bob's first) leaves two of bob's unread.
	mk, err := d.MarkRead(bg, "alice", "dm:alice:bob", 2)
	if err != nil {
		t.Fatal(err)
	}
	if mk.Previous != 0 || mk.Read != 2 || mk.Unread != 2 {
		t.Fatalf("mark 2: %+v", mk)
	}
	// An older marker does not move it back.
	if mk, _ := d.MarkRead(bg, "alice", "dm:alice:bob", 1); mk.Read != 2 || mk.Previous != 2 || mk.Unread != 2 {
		t.Fatalf("mark 1 after 2: %+v", mk)
	}
	// Seq 6 is in another conversation: the dm marker passes it, its count
	// is untouched.
	if mk, _ := d.MarkRead(bg, "alice", "dm:alice:bob", 6); mk.Read != 6 || mk.Unread != 0 {
		t.Fatalf("mark 6: %+v", mk)
	}
	if s := mustState(t, d, "alice"); s.Unread != 2 {
		t.Fatalf("alice unread %d after reading the dm, want the group's 2", s.Unread)
	}
	// Beyond the top is clamped.
	if mk, _ := d.MarkRead(bg, "alice", "group:1", 99); mk.Read != 7 || mk.Unread != 0 || mk.Previous != 0 {
		t.Fatalf("mark 99: %+v", mk)
	}
	if s := mustState(t, d, "alice"); s.Unread != 0 {
		t.Fatalf("alice unread %d after reading all", s.Unread)
	}
	if _, err := d.MarkRead(bg, "alice", "room:none", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mark in an unknown conversation: %v", err)
	}
	if _, err := d.MarkRead(bg, "nobody", "room:none", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mark of an unknown user: %v", err)
	}
	// A new message after the marker is unread again.
	mustAppend(t, d, dm, msg("dm:alice:bob", "bob", 9))
	if cv, _ := d.Conversation(bg, "alice", "dm:alice:bob"); cv.Unread != 1 || cv.LastSeq != 8 {
		t.Fatalf("dm after a new message: %+v", cv)
	}

	p, err := d.Conversations(bg, "alice", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conversations) != 1 || p.Conversations[0].ID != "dm:alice:bob" || p.Next != "dm:alice:bob" {
		t.Fatalf("first page: %+v", p)
	}
	p, err = d.Conversations(bg, "alice", p.Next, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conversations) != 1 || p.Conversations[0].ID != "group:1" || p.Next != "" || p.Conversations[0].Read != 7 {
		t.Fatalf("second page: %+v", p)
	}
}

func TestRetentionKeepsUnreadCountsExact(t *testing.T) {
	d, _ := openTest(t, func(o *Options) { o.Retention.MaxEntries = 4 })
	// alice: 1 bob, 2 alice, 3 bob (room:1), 4 bob (room:2), then 5..8 bob
	// in room:2 push 1..4 out.
	mustAppend(t, d, []string{"alice"}, msg("room:1", "bob", 1))
	mustAppend(t, d, []string{"alice"}, msg("room:1", "alice", 2))
	mustAppend(t, d, []string{"alice"}, msg("room:1", "bob", 3))
	if _, err := d.MarkRead(bg, "alice", "room:1", 1); err != nil {
		t.Fatal(err)
	}
	appendN(t, d, "alice", "room:2", "bob", 4, 2)
	if s := mustState(t, d, "alice"); s.Unread != 3 || s.Dropped != 1 {
		t.Fatalf("after one drop: %+v", s)
	}
	if cv, _ := d.Conversation(bg, "alice", "room:1"); cv.Kept != 2 || cv.Unread != 1 {
		t.Fatalf("room:1 after one drop: %+v", cv)
	}
	appendN(t, d, "alice", "room:2", "bob", 6, 3)
	if _, err := d.Conversation(bg, "alice", "room:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("room:1 kept no entry but is still listed: %v", err)
	}
	s := mustState(t, d, "alice")
	cv, _ := d.Conversation(bg, "alice", "room:2")
	if s.Unread != 4 || cv.Unread != 4 || cv.Kept != 4 || s.Dropped != 4 {
		t.Fatalf("after four drops: state %+v, room:2 %+v", s, cv)
	}
}
