package inboxtest

import (
	"errors"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Unread counts, per user and per conversation, leave out the user's own
// messages; markers move forward only, clamped to the top; a new message
// after the marker is unread; conversations page by id.
func testUnread(e *env) {
	dm := []string{"alice", "bob"}
	// alice's log: 1 a, 2 b, 3 a, 4 b, 5 b (dm); 6, 7 group from carol.
	for i, from := range []string{"alice", "bob", "alice", "bob", "bob"} {
		e.append(dm, msg("dm:alice:bob", from, i))
	}
	e.clock.Advance(time.Second)
	e.append([]string{"alice", "carol"}, msg("group:1", "carol", 5))
	e.append([]string{"alice", "carol"}, msg("group:1", "carol", 6))

	if s := e.state("alice"); s.Unread != 5 {
		e.t.Fatalf("alice unread %d, want 3 from bob + 2 from carol", s.Unread)
	}
	if s := e.state("bob"); s.Unread != 2 {
		e.t.Fatalf("bob unread %d, want alice's 2", s.Unread)
	}
	if s := e.state("carol"); s.Unread != 0 {
		e.t.Fatalf("carol unread %d: her own messages counted", s.Unread)
	}
	cv := e.conversation("alice", "dm:alice:bob")
	if cv.ID != "dm:alice:bob" || cv.Unread != 3 || cv.Kept != 5 || cv.Read != 0 || cv.LastSeq != 5 || !cv.LastTime.Equal(Start) {
		e.t.Fatalf("alice's dm: %+v", cv)
	}
	if cv := e.conversation("alice", "group:1"); cv.LastSeq != 7 || !cv.LastTime.Equal(Start.Add(time.Second)) || cv.Kept != 2 {
		e.t.Fatalf("alice's group: %+v", cv)
	}

	// Reading up to seq 2 (bob's first) leaves two of bob's unread.
	mk := e.markRead("alice", "dm:alice:bob", 2)
	if mk.ID != "dm:alice:bob" || mk.Previous != 0 || mk.Read != 2 || mk.Unread != 2 || mk.Kept != 5 {
		e.t.Fatalf("mark 2: %+v", mk)
	}
	// An older marker does not move it back.
	if mk := e.markRead("alice", "dm:alice:bob", 1); mk.Read != 2 || mk.Previous != 2 || mk.Unread != 2 {
		e.t.Fatalf("mark 1 after 2: %+v", mk)
	}
	// Seq 6 is in another conversation: the dm marker passes it, its count
	// is untouched.
	if mk := e.markRead("alice", "dm:alice:bob", 6); mk.Read != 6 || mk.Previous != 2 || mk.Unread != 0 {
		e.t.Fatalf("mark 6: %+v", mk)
	}
	if s := e.state("alice"); s.Unread != 2 {
		e.t.Fatalf("alice unread %d after reading the dm, want the group's 2", s.Unread)
	}
	if cv := e.conversation("alice", "group:1"); cv.Unread != 2 || cv.Read != 0 {
		e.t.Fatalf("the group after reading the dm: %+v", cv)
	}
	// Beyond the top is clamped.
	if mk := e.markRead("alice", "group:1", 99); mk.Read != 7 || mk.Unread != 0 || mk.Previous != 0 {
		e.t.Fatalf("mark 99: %+v", mk)
	}
	if s := e.state("alice"); s.Unread != 0 {
		e.t.Fatalf("alice unread %d after reading all", s.Unread)
	}
	if _, err := e.s.MarkRead(e.ctx, "alice", "room:none", 1); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("mark in an unknown conversation: %v", err)
	}
	if _, err := e.s.Conversation(e.ctx, "alice", "room:none"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("an unknown conversation: %v", err)
	}
	// A new message after the marker is unread again; the user's own is
	// not.
	e.append(dm, msg("dm:alice:bob", "bob", 9))
	e.append(dm, msg("dm:alice:bob", "alice", 10))
	if cv := e.conversation("alice", "dm:alice:bob"); cv.Unread != 1 || cv.LastSeq != 9 || cv.Kept != 7 || cv.Read != 6 {
		e.t.Fatalf("dm after new messages: %+v", cv)
	}
	if s := e.state("alice"); s.Unread != 1 {
		e.t.Fatalf("alice unread %d after new messages", s.Unread)
	}
	// Bob's marker is his own.
	if cv := e.conversation("bob", "dm:alice:bob"); cv.Read != 0 || cv.Unread != 3 {
		e.t.Fatalf("bob's dm: %+v", cv)
	}

	p, err := e.s.Conversations(e.ctx, "alice", "", 1)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(p.Conversations) != 1 || p.Conversations[0].ID != "dm:alice:bob" || p.Next != "dm:alice:bob" || p.Conversations[0].Unread != 1 {
		e.t.Fatalf("first page: %+v", p)
	}
	p, err = e.s.Conversations(e.ctx, "alice", p.Next, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(p.Conversations) != 1 || p.Conversations[0].ID != "group:1" || p.Next != "" || p.Conversations[0].Read != 7 {
		e.t.Fatalf("second page: %+v", p)
	}
	if p, err := e.s.Conversations(e.ctx, "alice", "", 0); err != nil || len(p.Conversations) != 2 || p.Next != "" ||
		p.Conversations[0] != e.conversation("alice", "dm:alice:bob") || p.Conversations[1] != e.conversation("alice", "group:1") {
		e.t.Fatalf("all conversations: %+v, %v", p, err)
	}
	// Listing after an id that is not a conversation starts after it.
	if p, err := e.s.Conversations(e.ctx, "alice", "e", 0); err != nil || len(p.Conversations) != 1 || p.Conversations[0].ID != "group:1" {
		e.t.Fatalf("conversations after \"e\": %+v, %v", p, err)
	}
}

// Retention keeps the counters exact: a removed unread entry leaves the
// counts, a conversation with no kept entry is forgotten, marker too, and
// starts again with every kept entry unread.
func testRetentionUnread(e *env) {
	// alice: 1 bob, 2 alice, 3 bob (room:1), then 4, 5 bob in room:2 push
	// 1 out; 6..8 push the rest of room:1 out.
	e.append([]string{"alice"}, msg("room:1", "bob", 1))
	e.append([]string{"alice"}, msg("room:1", "alice", 2))
	e.append([]string{"alice"}, msg("room:1", "bob", 3))
	e.markRead("alice", "room:1", 1)
	e.appendN("alice", "room:2", "bob", 4, 2)
	if s := e.state("alice"); s.Unread != 3 || s.Dropped != 1 {
		e.t.Fatalf("after one drop: %+v", s)
	}
	if cv := e.conversation("alice", "room:1"); cv.Kept != 2 || cv.Unread != 1 || cv.Read != 1 {
		e.t.Fatalf("room:1 after one drop: %+v", cv)
	}
	e.appendN("alice", "room:2", "bob", 6, 3)
	if _, err := e.s.Conversation(e.ctx, "alice", "room:1"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("room:1 kept no entry but is still there: %v", err)
	}
	if _, err := e.s.MarkRead(e.ctx, "alice", "room:1", 8); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("marking room:1 with no entry kept: %v", err)
	}
	s := e.state("alice")
	cv := e.conversation("alice", "room:2")
	if s.Unread != 4 || cv.Unread != 4 || cv.Kept != 4 || s.Dropped != 4 {
		e.t.Fatalf("after four drops: state %+v, room:2 %+v", s, cv)
	}
	if p, err := e.s.Conversations(e.ctx, "alice", "", 0); err != nil || len(p.Conversations) != 1 || p.Conversations[0].ID != "room:2" {
		e.t.Fatalf("conversations after four drops: %+v, %v", p, err)
	}
	// Marking read entries that retention then removes keeps the total.
	e.markRead("alice", "room:2", 6)
	e.appendN("alice", "room:2", "bob", 9, 2) // removes 5 and 6, both read
	if s, cv := e.state("alice"), e.conversation("alice", "room:2"); s.Unread != 4 || cv.Unread != 4 || cv.Kept != 4 || cv.Read != 6 {
		e.t.Fatalf("after read entries were removed: state %+v, room:2 %+v", s, cv)
	}
	// room:1 starts again, unread, with no marker.
	e.append([]string{"alice"}, msg("room:1", "bob", 11))
	if cv := e.conversation("alice", "room:1"); cv.Read != 0 || cv.Kept != 1 || cv.Unread != 1 || cv.LastSeq != 11 {
		e.t.Fatalf("room:1 again: %+v", cv)
	}
	if s := e.state("alice"); s.Unread != 4 {
		// 7 was pushed out (unread), 11 came in (unread).
		e.t.Fatalf("alice unread %d, want 4", s.Unread)
	}
}
