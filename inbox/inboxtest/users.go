package inboxtest

import (
	"errors"

	"github.com/comet-im/comet/inbox"
)

// Users pages through every user with a log, by id, each with its state.
func testUsersPaging(e *env) {
	var names []string
	for i := range 25 {
		names = append(names, "u"+string(rune('a'+i)))
	}
	// Appended in reverse, as one fan-out and single appends: the listing
	// is by id whatever the order of arrival.
	e.append(names[20:], msg("room:1", "", 0))
	for i := 19; i >= 0; i-- {
		e.append([]string{names[i]}, msg("room:1", "", 0))
	}
	e.append([]string{"ua"}, msg("room:1", "", 1))
	for _, limit := range []int{10, 1, 25, 0} {
		var got []string
		after := ""
		for range 100 {
			p := e.users(after, limit)
			if limit > 0 && len(p.Users) > limit {
				e.t.Fatalf("limit %d: a page of %d", limit, len(p.Users))
			}
			for _, u := range p.Users {
				want := uint64(1)
				if u.User == "ua" {
					want = 2
				}
				if u.Top != want || u.Epoch == 0 || u.Kept() != want {
					e.t.Fatalf("user %+v", u)
				}
				if u.State != e.state(u.User) {
					e.t.Fatalf("listed state %+v, State %+v", u.State, e.state(u.User))
				}
				got = append(got, u.User)
			}
			if p.Next == "" {
				break
			}
			if len(p.Users) == 0 || p.Next != p.Users[len(p.Users)-1].User {
				e.t.Fatalf("limit %d: Next %q after %+v", limit, p.Next, p.Users)
			}
			after = p.Next
		}
		if len(got) != len(names) {
			e.t.Fatalf("limit %d: listed %v", limit, got)
		}
		for i := range got {
			if got[i] != names[i] {
				e.t.Fatalf("limit %d: listed %v, want %v", limit, got, names)
			}
		}
	}
	// After an id that is not a user.
	if p := e.users("ub0", 2); len(p.Users) != 2 || p.Users[0].User != "uc" || p.Users[1].User != "ud" || p.Next != "ud" {
		e.t.Fatalf("users after ub0: %+v", p)
	}
	if p := e.users("uy", 0); len(p.Users) != 0 || p.Next != "" {
		e.t.Fatalf("users after the last: %+v", p)
	}
}

// DeleteUser removes the log, devices, markers and idempotency records;
// the user is no longer listed; a later append starts a new epoch from
// seq 1; others are untouched.
func testDeleteUser(e *env) {
	m := msg("dm:ua:ub", "ub", 1)
	m.Key = "retry-1"
	e.append([]string{"ua", "ub"}, m)
	e.append([]string{"ua"}, msg("room:1", "uc", 2))
	e.ack("ua", "phone", 1)
	e.markRead("ua", "dm:ua:ub", 1)
	before := e.state("ua")
	ubBefore := e.state("ub")
	if err := e.s.DeleteUser(e.ctx, "ua"); err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, "ua"); err != nil {
		e.t.Fatalf("second delete: %v", err)
	}
	if s := e.state("ua"); s != (inbox.State{Oldest: 1}) {
		e.t.Fatalf("state after delete: %+v", s)
	}
	if p := e.read("ua", 0, 0); len(p.Entries) != 0 || p.Gap != 0 || p.State.Epoch != 0 {
		e.t.Fatalf("read after delete: %+v", p)
	}
	if devs, err := e.s.Devices(e.ctx, "ua"); err != nil || len(devs) != 0 {
		e.t.Fatalf("devices after delete: %+v, %v", devs, err)
	}
	if _, err := e.s.Device(e.ctx, "ua", "phone"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("device after delete: %v", err)
	}
	if _, err := e.s.Conversation(e.ctx, "ua", "dm:ua:ub"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("conversation after delete: %v", err)
	}
	if p, err := e.s.Conversations(e.ctx, "ua", "", 0); err != nil || len(p.Conversations) != 0 {
		e.t.Fatalf("conversations after delete: %+v, %v", p, err)
	}
	if p := e.users("", 0); len(p.Users) != 1 || p.Users[0].User != "ub" {
		e.t.Fatalf("users after delete: %+v", p)
	}
	if s := e.state("ub"); s != ubBefore {
		e.t.Fatalf("ub after ua's deletion %+v, before %+v", s, ubBefore)
	}
	// The key is forgotten with the user: the retry starts a new log. ub
	// still remembers it.
	a := e.append([]string{"ua", "ub"}, m)
	s := e.state("ua")
	if a[0].Seq != 1 || a[0].Duplicate || s.Epoch == 0 || s.Epoch == before.Epoch || a[0].Epoch != s.Epoch || s.Top != 1 || s.Unread != 1 {
		e.t.Fatalf("append after delete: %+v, state %+v (epoch before %d)", a, s, before.Epoch)
	}
	if !a[1].Duplicate || a[1].Seq != 1 {
		e.t.Fatalf("the retry to ub: %+v", a[1])
	}
	if cv := e.conversation("ua", "dm:ua:ub"); cv.Read != 0 || cv.Unread != 1 || cv.Kept != 1 {
		e.t.Fatalf("the conversation again: %+v", cv)
	}
	if p := e.users("", 0); len(p.Users) != 2 || p.Users[0].User != "ua" {
		e.t.Fatalf("users after the new log: %+v", p)
	}
}
