package inboxtest

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Appends get seqs 1, 2, …; reads page through them with every field as
// stored; the state describes the log.
func testAppendReadPage(e *env) {
	var epoch uint64
	for i := 1; i <= 5; i++ {
		a := e.append([]string{"alice"}, inbox.Message{
			Conversation: "room:1", From: "bob", FromDevice: "phone", Key: "k" + strconv.Itoa(i),
			Payload: []byte(`{"i":` + strconv.Itoa(i) + `}`),
		})
		s := e.state("alice")
		at := Start.Add(time.Duration(i-1) * time.Second)
		if g := a[0]; g.User != "alice" || g.Seq != uint64(i) || g.Epoch != s.Epoch || g.Duplicate || !g.Time.Equal(at) {
			e.t.Fatalf("append %d: %+v, state %+v, want the entry's time %v", i, a, s, at)
		}
		if i == 1 {
			epoch = s.Epoch
		}
		if s.Epoch == 0 || s.Epoch != epoch {
			e.t.Fatalf("append %d: epoch %d, first %d: an epoch is non-zero and stays", i, s.Epoch, epoch)
		}
		e.clock.Advance(time.Second)
	}
	p := e.read("alice", 0, 2)
	e.checkSeqs(p.Entries, 1, 2)
	if !p.More || p.Next != 2 || p.Gap != 0 {
		e.t.Fatalf("first page: More %v Next %d Gap %d", p.More, p.Next, p.Gap)
	}
	got := p.Entries[1]
	want := inbox.Entry{Seq: 2, Time: Start.Add(time.Second), Conversation: "room:1", From: "bob", FromDevice: "phone", Key: "k2", Payload: []byte(`{"i":2}`)}
	if got.Seq != want.Seq || !got.Time.Equal(want.Time) || got.Conversation != want.Conversation || got.From != want.From ||
		got.FromDevice != want.FromDevice || got.Key != want.Key || string(got.Payload) != string(want.Payload) {
		e.t.Fatalf("entry %+v, want %+v", got, want)
	}
	p = e.read("alice", p.Next, 2)
	e.checkSeqs(p.Entries, 3, 4)
	p = e.read("alice", p.Next, 2)
	e.checkSeqs(p.Entries, 5, 5)
	if p.More || p.Next != 5 {
		e.t.Fatalf("last page: More %v Next %d", p.More, p.Next)
	}
	s := p.State
	if s.Top != 5 || s.Oldest != 1 || s.Dropped != 0 || s.Kept() != 5 || s.Epoch != epoch || s.Unread != 5 {
		e.t.Fatalf("state %+v", s)
	}
	if !s.Created.Equal(Start) || !s.Updated.Equal(Start.Add(4*time.Second)) {
		e.t.Fatalf("state created %v updated %v, want %v and 4 s later", s.Created, s.Updated, Start)
	}
	if s != e.state("alice") {
		e.t.Fatalf("Read's state %+v, State %+v", s, e.state("alice"))
	}
	// Reading past the top is empty, not an error.
	if p := e.read("alice", 9, 0); len(p.Entries) != 0 || p.Next != 9 || p.More || p.Gap != 0 || p.State.Top != 5 {
		e.t.Fatalf("read past top: %+v", p)
	}
}

// Reading a user who has no log is reading an empty log, and creates
// nothing: no call but Append and Ack makes a log.
func testReadingCreatesNothing(e *env) {
	empty := inbox.State{Oldest: 1}
	if p := e.read("nobody", 0, 0); len(p.Entries) != 0 || p.Next != 0 || p.More || p.Gap != 0 || p.State != empty {
		e.t.Fatalf("read of unknown user: %+v", p)
	}
	if p := e.read("nobody", 7, 0); p.Next != 7 || p.State != empty {
		e.t.Fatalf("read of unknown user after 7: %+v", p)
	}
	if s := e.state("nobody"); s != empty {
		e.t.Fatalf("state of unknown user: %+v, want %+v", s, empty)
	}
	if _, err := e.s.Device(e.ctx, "nobody", "phone"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("Device of unknown user: %v, want ErrNotFound", err)
	}
	if d, err := e.s.Devices(e.ctx, "nobody"); err != nil || len(d) != 0 {
		e.t.Fatalf("Devices of unknown user: %+v, %v", d, err)
	}
	if _, err := e.s.Conversation(e.ctx, "nobody", "room:1"); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("Conversation of unknown user: %v, want ErrNotFound", err)
	}
	if p, err := e.s.Conversations(e.ctx, "nobody", "", 0); err != nil || len(p.Conversations) != 0 || p.Next != "" {
		e.t.Fatalf("Conversations of unknown user: %+v, %v", p, err)
	}
	if _, err := e.s.MarkRead(e.ctx, "nobody", "room:1", 1); !errors.Is(err, inbox.ErrNotFound) {
		e.t.Fatalf("MarkRead of unknown user: %v, want ErrNotFound", err)
	}
	if err := e.s.ForgetDevice(e.ctx, "nobody", "phone"); err != nil {
		e.t.Fatalf("ForgetDevice of unknown user: %v", err)
	}
	if err := e.s.DeleteUser(e.ctx, "nobody"); err != nil {
		e.t.Fatalf("DeleteUser of unknown user: %v", err)
	}
	if p := e.users("", 0); len(p.Users) != 0 || p.Next != "" {
		e.t.Fatalf("reads created users: %+v", p)
	}
	if a := e.append([]string{"nobody"}, msg("room:1", "", 0)); a[0].Seq != 1 {
		e.t.Fatalf("first append after reads: %+v, want seq 1", a)
	}
}

// A device offline while 1,000 messages arrive gets them all, in order,
// whatever the page size.
func testOfflineDevice(e *env) {
	e.ack("alice", "laptop", 0)
	e.appendN("alice", "room:1", "bob", 0, 1000)
	dev := e.device("alice", "laptop")
	if dev.Acked != 0 || dev.Pending != 1000 || dev.Gap != 0 {
		e.t.Fatalf("device before reading: %+v", dev)
	}
	for _, limit := range []int{0, 1, 7, 100, 1000, 5000} {
		got := e.readAll("alice", dev.Acked, limit)
		e.checkSeqs(got, 1, 1000)
		for i, en := range got {
			if n := e.index(en.Payload); n != i {
				e.t.Fatalf("limit %d: entry %d holds message %d", limit, i, n)
			}
		}
	}
	if dev := e.ack("alice", "laptop", 1000); dev.Acked != 1000 || dev.Pending != 0 {
		e.t.Fatalf("device after ack: %+v", dev)
	}
}

// A fan-out gives each recipient the entry under its own seq, and the
// results in the order of the recipients.
func testFanOut(e *env) {
	e.appendN("bob", "room:1", "x", 0, 3)
	a := e.append([]string{"carol", "alice", "bob"}, msg("group:1", "alice", 7))
	want := []inbox.Appended{{User: "carol", Seq: 1}, {User: "alice", Seq: 1}, {User: "bob", Seq: 4}}
	for i := range want {
		// Each result names its log's epoch: with the seq, the position.
		// Every recipient's entry has the append's one time.
		want[i].Epoch, want[i].Time = e.state(want[i].User).Epoch, a[0].Time
		if a[i].User != want[i].User || a[i].Seq != want[i].Seq || a[i].Epoch != want[i].Epoch || a[i].Duplicate ||
			!a[i].Time.Equal(want[i].Time) || a[i].Epoch == 0 {
			e.t.Fatalf("fan-out result %+v, want %+v", a, want)
		}
	}
	for _, r := range a {
		p := e.read(r.User, r.Seq-1, 1)
		if len(p.Entries) != 1 || p.Entries[0].Seq != r.Seq || e.index(p.Entries[0].Payload) != 7 || p.Entries[0].From != "alice" {
			e.t.Fatalf("%s's entry: %+v", r.User, p.Entries)
		}
	}
	// The sender is among the recipients: the entry is not unread for
	// her, it is for the others.
	for user, unread := range map[string]uint64{"alice": 0, "bob": 4, "carol": 1} {
		if s := e.state(user); s.Unread != unread {
			e.t.Fatalf("%s unread %d, want %d", user, s.Unread, unread)
		}
	}
}

// Writers appending to one user at once get distinct seqs, rising for
// each writer, and the log holds every message once, with no gap.
func testConcurrentAppends(e *env) {
	const writers, each = 8, 40
	seqs := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a, err := e.s.Append(e.ctx, []string{"alice", "w" + string(rune('a'+w))}, msg("room:1", "", w*each+i))
				if err != nil {
					e.t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], a[0].Seq)
			}
		}()
	}
	// Readers alongside: every page they see is gapless.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				p, err := e.s.Read(e.ctx, "alice", 0, 50)
				if err != nil {
					e.t.Error(err)
					return
				}
				for i, en := range p.Entries {
					if en.Seq != uint64(i+1) {
						e.t.Errorf("a concurrent read saw seq %d at %d", en.Seq, i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if e.t.Failed() {
		return
	}
	seen := make(map[uint64]bool)
	for w, s := range seqs {
		for i, seq := range s {
			if seen[seq] {
				e.t.Fatalf("seq %d assigned twice", seq)
			}
			seen[seq] = true
			if i > 0 && seq <= s[i-1] {
				e.t.Fatalf("writer %d: seq %d after %d", w, seq, s[i-1])
			}
		}
	}
	all := e.readAll("alice", 0, 0)
	e.checkSeqs(all, 1, writers*each)
	got := make(map[int]bool)
	for _, en := range all {
		n := e.index(en.Payload)
		if got[n] {
			e.t.Fatalf("message %d stored twice", n)
		}
		got[n] = true
	}
	for w := range writers {
		if s := e.state("w" + string(rune('a'+w))); s.Top != each {
			e.t.Fatalf("writer %d's own log: %+v, want %d entries", w, s, each)
		}
	}
}

// PageSize caps every read: entries, conversations and users.
func testPageSize(e *env) {
	e.appendN("alice", "room:1", "bob", 0, 12)
	for _, limit := range []int{0, 10, 5} {
		if p := e.read("alice", 0, limit); len(p.Entries) != 5 || !p.More || p.Next != 5 {
			e.t.Fatalf("limit %d: %d entries, More %v, Next %d; want 5 (the page size)", limit, len(p.Entries), p.More, p.Next)
		}
	}
	if p := e.read("alice", 0, 3); len(p.Entries) != 3 {
		e.t.Fatalf("limit 3: %d entries", len(p.Entries))
	}
	e.checkSeqs(e.readAll("alice", 0, 0), 1, 12)
	for i := range 7 {
		e.append([]string{"alice", "u" + strconv.Itoa(i)}, msg("room:"+strconv.Itoa(i+2), "", i))
	}
	if p, err := e.s.Conversations(e.ctx, "alice", "", 0); err != nil || len(p.Conversations) != 5 || p.Next != "room:5" {
		e.t.Fatalf("conversations, limit 0: %+v, %v; want 5 up to room:5", p, err)
	}
	if p := e.users("", 100); len(p.Users) != 5 || p.Next != p.Users[4].User {
		e.t.Fatalf("users, limit 100: %+v; want 5", p)
	}
}

// PageBytes bounds a read's payload bytes; the entry that crosses the
// bound is in the page, so a page is never empty while entries remain.
func testPageBytes(e *env) {
	e.appendN("alice", "room:1", "bob", 100, 10) // payloads of 9 bytes
	p := e.read("alice", 0, 0)
	// 9 + 9 < 20, the third entry takes the page over the bound.
	e.checkSeqs(p.Entries, 1, 3)
	if !p.More || p.Next != 3 {
		e.t.Fatalf("More %v Next %d", p.More, p.Next)
	}
	e.checkSeqs(e.readAll("alice", 0, 0), 1, 10)
	big := msg("room:1", "bob", 0)
	big.Payload = []byte(`"0123456789012345678901234567890123456789"`)
	e.append([]string{"alice"}, big)
	if p := e.read("alice", 10, 0); len(p.Entries) != 1 || p.Entries[0].Seq != 11 || p.More {
		e.t.Fatalf("an entry over the bound alone: %+v", p)
	}
}

// The store keeps no slice it was given, and gives out slices the caller
// may change, even by appending.
func testCallerOwnsSlices(e *env) {
	m := msg("room:1", "bob", 1)
	to := []string{"alice", "carol"}
	e.append(to, m)
	m.Payload[len(m.Payload)-2] = '9'
	to[0] = "zed"
	e.append([]string{"alice"}, msg("room:1", "bob", 2))
	p := e.read("alice", 0, 0)
	if len(p.Entries) != 2 || string(p.Entries[0].Payload) != `{"i":1}` {
		e.t.Fatalf("after the caller changed its slices: %+v", p.Entries)
	}
	first := p.Entries[0].Payload
	first[1] = 'X'
	_ = append(first, "overwrite"...)
	if string(p.Entries[1].Payload) != `{"i":2}` {
		e.t.Fatalf("appending to one payload changed the next: %q", p.Entries[1].Payload)
	}
	if again := e.read("alice", 0, 0); string(again.Entries[0].Payload) != `{"i":1}` {
		e.t.Fatalf("changing a returned payload changed the store: %q", again.Entries[0].Payload)
	}
	if s := e.state("zed"); s.Top != 0 {
		e.t.Fatalf("zed has a log: %+v", s)
	}
}
