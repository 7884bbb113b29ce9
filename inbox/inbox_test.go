package inbox

import (
	"errors"
	"testing"
)

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
