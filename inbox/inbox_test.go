package inbox

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestAppendReadPage(t *testing.T) {
	d, c := openTest(t, nil)
	for i := 1; i <= 5; i++ {
		a := mustAppend(t, d, []string{"alice"}, Message{
			Conversation: "room:1", From: "bob", FromDevice: "phone", Key: "k" + strconv.Itoa(i),
			Payload: []byte(`{"i":` + strconv.Itoa(i) + `}`),
		})
		if len(a) != 1 || a[0] != (Appended{User: "alice", Seq: uint64(i)}) {
			t.Fatalf("append %d: %+v", i, a)
		}
		c.advance(time.Second)
	}
	p, err := d.Read(bg, "alice", 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, p.Entries, 1, 2)
	if !p.More || p.Next != 2 || p.Gap != 0 {
		t.Fatalf("first page: More %v Next %d Gap %d", p.More, p.Next, p.Gap)
	}
	e := p.Entries[1]
	want := Entry{Seq: 2, Time: newClock().now().Add(time.Second), Conversation: "room:1", From: "bob", FromDevice: "phone", Key: "k2", Payload: []byte(`{"i":2}`)}
	if e.Seq != want.Seq || !e.Time.Equal(want.Time) || e.Conversation != want.Conversation || e.From != want.From ||
		e.FromDevice != want.FromDevice || e.Key != want.Key || string(e.Payload) != string(want.Payload) {
		t.Fatalf("entry %+v, want %+v", e, want)
	}
	p, err = d.Read(bg, "alice", p.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, p.Entries, 3, 4)
	p, err = d.Read(bg, "alice", p.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, p.Entries, 5, 5)
	if p.More || p.Next != 5 {
		t.Fatalf("last page: More %v Next %d", p.More, p.Next)
	}
	s := p.State
	if s.Top != 5 || s.Oldest != 1 || s.Dropped != 0 || s.Kept() != 5 || s.Epoch == 0 || s.Unread != 5 {
		t.Fatalf("state %+v", s)
	}
	// Reading past the top, or a user with no log, is empty, not an error.
	if p, err := d.Read(bg, "alice", 9, 0); err != nil || len(p.Entries) != 0 || p.Next != 9 || p.More {
		t.Fatalf("read past top: %+v, %v", p, err)
	}
	if p, err := d.Read(bg, "nobody", 0, 0); err != nil || len(p.Entries) != 0 || p.State.Top != 0 || p.State.Oldest != 1 || p.State.Epoch != 0 {
		t.Fatalf("read of unknown user: %+v, %v", p, err)
	}
}

func TestOfflineDeviceGetsThousandInOrder(t *testing.T) {
	d, _ := openTest(t, nil)
	mustAck(t, d, "alice", "laptop", 0)
	appendN(t, d, "alice", "room:1", "bob", 0, 1000)
	dev, err := d.Device(bg, "alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if dev.Acked != 0 || dev.Pending != 1000 || dev.Gap != 0 {
		t.Fatalf("device before reading: %+v", dev)
	}
	for _, limit := range []int{0, 1, 7, 100, 1000, 5000} {
		got := readAll(t, d, "alice", dev.Acked, limit)
		checkSeqs(t, got, 1, 1000)
		for i, e := range got {
			if n := payloadIndex(t, e.Payload); n != i {
				t.Fatalf("limit %d: entry %d holds message %d", limit, i, n)
			}
		}
	}
	if dev := mustAck(t, d, "alice", "laptop", 1000); dev.Acked != 1000 || dev.Pending != 0 {
		t.Fatalf("device after ack: %+v", dev)
	}
}

func TestTwoDevicesGetTheirRemainder(t *testing.T) {
	d, _ := openTest(t, nil)
	appendN(t, d, "alice", "room:1", "bob", 0, 1000)
	mustAck(t, d, "alice", "phone", 300)
	mustAck(t, d, "alice", "laptop", 700)
	for _, dev := range []struct {
		id    string
		acked uint64
	}{{"phone", 300}, {"laptop", 700}} {
		pos, err := d.Device(bg, "alice", dev.id)
		if err != nil {
			t.Fatal(err)
		}
		if pos.Acked != dev.acked || pos.Pending != 1000-dev.acked {
			t.Fatalf("%s: %+v", dev.id, pos)
		}
		checkSeqs(t, readAll(t, d, "alice", pos.Acked, 128), dev.acked+1, 1000)
	}
	devs, err := d.Devices(bg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].ID != "laptop" || devs[0].Acked != 700 || devs[1].ID != "phone" || devs[1].Acked != 300 {
		t.Fatalf("devices %+v", devs)
	}
}

func TestAckMonotonicClampedAndEvicting(t *testing.T) {
	d, c := openTest(t, func(o *Options) { o.MaxDevices = 3 })
	appendN(t, d, "alice", "room:1", "bob", 0, 10)
	created := c.now()
	if dev := mustAck(t, d, "alice", "a", 5); dev.Acked != 5 || dev.Pending != 5 || !dev.Created.Equal(created) {
		t.Fatalf("ack 5: %+v", dev)
	}
	c.advance(time.Minute)
	if dev := mustAck(t, d, "alice", "a", 3); dev.Acked != 5 || !dev.LastSeen.Equal(created.Add(time.Minute)) || !dev.Created.Equal(created) {
		t.Fatalf("older ack moved the position or missed last seen: %+v", dev)
	}
	if dev := mustAck(t, d, "alice", "a", 99); dev.Acked != 10 || dev.Pending != 0 {
		t.Fatalf("ack beyond the top not clamped: %+v", dev)
	}
	c.advance(time.Minute)
	mustAck(t, d, "alice", "b", 1)
	c.advance(time.Minute)
	mustAck(t, d, "alice", "c", 2)
	c.advance(time.Minute)
	mustAck(t, d, "alice", "a", 10) // a is now the most recently seen
	c.advance(time.Minute)
	mustAck(t, d, "alice", "d", 4) // evicts b, the least recently seen
	if _, err := d.Device(bg, "alice", "b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("evicted device: %v", err)
	}
	devs, err := d.Devices(bg, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 3 || devs[0].ID != "a" || devs[1].ID != "c" || devs[2].ID != "d" {
		t.Fatalf("devices after eviction: %+v", devs)
	}
	if err := d.ForgetDevice(bg, "alice", "c"); err != nil {
		t.Fatal(err)
	}
	if err := d.ForgetDevice(bg, "alice", "never"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Device(bg, "alice", "c"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("forgotten device: %v", err)
	}
	if _, err := d.Device(bg, "nobody", "c"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("device of unknown user: %v", err)
	}
}

func TestFanOutIsOneAtomicAppendWithOwnSeqs(t *testing.T) {
	d, _ := openTest(t, nil)
	appendN(t, d, "bob", "room:1", "x", 0, 3)
	a := mustAppend(t, d, []string{"alice", "bob", "carol"}, msg("group:1", "alice", 7))
	want := []Appended{{User: "alice", Seq: 1}, {User: "bob", Seq: 4}, {User: "carol", Seq: 1}}
	for i := range want {
		if a[i] != want[i] {
			t.Fatalf("fan-out result %+v, want %+v", a, want)
		}
	}
	for _, r := range a {
		p, err := d.Read(bg, r.User, r.Seq-1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 1 || p.Entries[0].Seq != r.Seq || payloadIndex(t, p.Entries[0].Payload) != 7 {
			t.Fatalf("%s's entry: %+v", r.User, p.Entries)
		}
	}
}

func TestUsersPagingAndDeleteUser(t *testing.T) {
	d, _ := openTest(t, nil)
	var names []string
	for i := range 25 {
		names = append(names, "u"+string(rune('a'+i)))
	}
	for _, n := range names {
		mustAppend(t, d, []string{n}, msg("room:1", "", 0))
	}
	var got []string
	after := ""
	for range 10 {
		p, err := d.Users(bg, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Users {
			if u.Top != 1 {
				t.Fatalf("user %+v", u)
			}
			got = append(got, u.User)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(got) != 25 {
		t.Fatalf("listed %v", got)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("listed %v, want %v", got, names)
		}
	}

	m := msg("dm:ua:ub", "ub", 1)
	m.Key = "retry-1"
	mustAppend(t, d, []string{"ua"}, m)
	mustAck(t, d, "ua", "phone", 1)
	before := mustState(t, d, "ua")
	if err := d.DeleteUser(bg, "ua"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteUser(bg, "ua"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if s := mustState(t, d, "ua"); s.Top != 0 || s.Epoch != 0 {
		t.Fatalf("state after delete: %+v", s)
	}
	if devs, err := d.Devices(bg, "ua"); err != nil || len(devs) != 0 {
		t.Fatalf("devices after delete: %+v, %v", devs, err)
	}
	if _, err := d.Conversation(bg, "ua", "dm:ua:ub"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("conversation after delete: %v", err)
	}
	if p, err := d.Users(bg, "", 1); err != nil || len(p.Users) != 1 || p.Users[0].User != "ub" {
		t.Fatalf("users after delete: %+v, %v", p, err)
	}
	// The key is forgotten with the user: the retry starts a new log.
	a := mustAppend(t, d, []string{"ua"}, m)
	s := mustState(t, d, "ua")
	if a[0].Seq != 1 || a[0].Duplicate || s.Epoch == before.Epoch || s.Top != 1 {
		t.Fatalf("append after delete: %+v, state %+v (epoch before %d)", a, s, before.Epoch)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	o := Options{SweepInterval: -1, Now: c.now}
	d, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, d, "alice", "room:1", "bob", 0, 50)
	mustAck(t, d, "alice", "phone", 20)
	if _, err := d.MarkRead(bg, "alice", "room:1", 30); err != nil {
		t.Fatal(err)
	}
	before := mustState(t, d, "alice")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	if _, err := d.Append(bg, []string{"alice"}, msg("room:1", "", 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := d.Read(bg, "alice", 0, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	d, err = Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if s := mustState(t, d, "alice"); s != before {
		t.Fatalf("state after reopen %+v, before %+v", s, before)
	}
	checkSeqs(t, readAll(t, d, "alice", 0, 0), 1, 50)
	if dev, err := d.Device(bg, "alice", "phone"); err != nil || dev.Acked != 20 {
		t.Fatalf("device after reopen: %+v, %v", dev, err)
	}
	if cv, err := d.Conversation(bg, "alice", "room:1"); err != nil || cv.Read != 30 || cv.Unread != 20 {
		t.Fatalf("conversation after reopen: %+v, %v", cv, err)
	}
}

func TestOpenRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d2, err := Open(dir, Options{SweepInterval: -1}); err == nil {
		d2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}

func TestPageBytesBoundsARead(t *testing.T) {
	d, _ := openTest(t, func(o *Options) { o.PageBytes = 20 })
	appendN(t, d, "alice", "room:1", "bob", 100, 10) // payloads of 9 bytes
	p, err := d.Read(bg, "alice", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 9 + 9 < 20, the third entry takes the page over the bound.
	checkSeqs(t, p.Entries, 1, 3)
	if !p.More || p.Next != 3 {
		t.Fatalf("More %v Next %d", p.More, p.Next)
	}
	checkSeqs(t, readAll(t, d, "alice", 0, 0), 1, 10)
}
