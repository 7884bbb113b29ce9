package inboxtest

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Every argument that breaks a documented limit is refused with an
// *ArgError naming it, before anything is stored; the limits themselves
// are allowed.
func testArgumentErrors(e *env) {
	ok := msg("room:1", "bob", 1)
	long := strings.Repeat("a", inbox.MaxIDBytes+1)
	with := func(f func(*inbox.Message)) inbox.Message { m := ok; f(&m); return m }
	cases := []struct {
		name string
		to   []string
		m    inbox.Message
		arg  string
		err  error
	}{
		{"empty user", []string{""}, ok, "user", inbox.ErrInvalid},
		{"long user", []string{long}, ok, "user", inbox.ErrInvalid},
		{"user with a space", []string{"a b"}, ok, "user", inbox.ErrInvalid},
		{"user with a brace", []string{"a{b}"}, ok, "user", inbox.ErrInvalid},
		{"user with NUL", []string{"a\x00"}, ok, "user", inbox.ErrInvalid},
		{"user with non-ASCII", []string{"ü"}, ok, "user", inbox.ErrInvalid},
		{"second user bad", []string{"a", "b c"}, ok, "user", inbox.ErrInvalid},
		{"no recipients", nil, ok, "recipients", inbox.ErrInvalid},
		{"repeated recipient", []string{"a", "b", "a"}, ok, "recipients", inbox.ErrInvalid},
		{"too many recipients", []string{"a", "b", "c", "d"}, ok, "recipients", inbox.ErrTooLarge},
		{"no conversation", []string{"a"}, with(func(m *inbox.Message) { m.Conversation = "" }), "conversation", inbox.ErrInvalid},
		{"long conversation", []string{"a"}, with(func(m *inbox.Message) { m.Conversation = long }), "conversation", inbox.ErrInvalid},
		{"conversation with a space", []string{"a"}, with(func(m *inbox.Message) { m.Conversation = "room 1" }), "conversation", inbox.ErrInvalid},
		{"bad from", []string{"a"}, with(func(m *inbox.Message) { m.From = "x\ny" }), "from", inbox.ErrInvalid},
		{"bad from device", []string{"a"}, with(func(m *inbox.Message) { m.FromDevice = long }), "from device", inbox.ErrInvalid},
		{"long key", []string{"a"}, with(func(m *inbox.Message) { m.Key = strings.Repeat("k", inbox.MaxKeyBytes+1) }), "key", inbox.ErrInvalid},
		{"bad key", []string{"a"}, with(func(m *inbox.Message) { m.Key = "k\"" }), "key", inbox.ErrInvalid},
		{"key with a space", []string{"a"}, with(func(m *inbox.Message) { m.Key = "k 1" }), "key", inbox.ErrInvalid},
		{"payload not JSON", []string{"a"}, with(func(m *inbox.Message) { m.Payload = []byte("{") }), "payload", inbox.ErrInvalid},
		{"empty payload", []string{"a"}, with(func(m *inbox.Message) { m.Payload = nil }), "payload", inbox.ErrInvalid},
		{"payload too large", []string{"a"}, with(func(m *inbox.Message) { m.Payload = []byte(`"` + strings.Repeat("x", 100) + `"`) }), "payload", inbox.ErrTooLarge},
	}
	for _, c := range cases {
		_, err := e.s.Append(e.ctx, c.to, c.m)
		var ae *inbox.ArgError
		if !errors.Is(err, c.err) || !errors.As(err, &ae) || ae.Arg != c.arg || ae.Reason == "" {
			e.t.Errorf("%s: %v, want %v on %q", c.name, err, c.err, c.arg)
		}
	}
	if p := e.users("", 0); len(p.Users) != 0 {
		e.t.Fatalf("a refused append stored something: %+v", p.Users)
	}
	// The limits themselves are allowed, and every byte of the id set.
	edge := with(func(m *inbox.Message) {
		m.Conversation = long[1:]
		m.From = "A-Z_0.9:@/=+#"
		m.FromDevice = long[1:]
		m.Key = strings.Repeat("k", inbox.MaxKeyBytes)
		m.Payload = []byte(`"` + strings.Repeat("x", 98) + `"`)
	})
	a := e.append([]string{long[1:], "A-Z_0.9:@/=+#", "c"}, edge)
	p := e.read(long[1:], 0, 0)
	if len(p.Entries) != 1 || p.Entries[0].Conversation != edge.Conversation || p.Entries[0].From != edge.From ||
		p.Entries[0].FromDevice != edge.FromDevice || p.Entries[0].Key != edge.Key || string(p.Entries[0].Payload) != string(edge.Payload) {
		e.t.Fatalf("the entry at the limits: %+v", p.Entries)
	}
	if s := e.state("A-Z_0.9:@/=+#"); s.Top != 1 || s.Unread != 0 || a[1].Seq != 1 {
		e.t.Fatalf("the sender's own log: %+v", s)
	}

	bad := "a b"
	for name, err := range map[string]error{
		"read bad user":            errOf(e.s.Read(e.ctx, "", 0, 0)),
		"state bad user":           errOf(e.s.State(e.ctx, bad)),
		"ack bad user":             errOf(e.s.Ack(e.ctx, long, "p", 1)),
		"ack bad device":           errOf(e.s.Ack(e.ctx, "a", "", 1)),
		"device bad user":          errOf(e.s.Device(e.ctx, bad, "p")),
		"device bad device":        errOf(e.s.Device(e.ctx, "a", long)),
		"devices bad user":         errOf(e.s.Devices(e.ctx, "")),
		"forget bad user":          e.s.ForgetDevice(e.ctx, bad, "p"),
		"forget bad device":        e.s.ForgetDevice(e.ctx, "a", "p\x7f"),
		"mark bad user":            errOf(e.s.MarkRead(e.ctx, "", "room:1", 1)),
		"mark bad conv":            errOf(e.s.MarkRead(e.ctx, "a", "a b", 1)),
		"conversation bad user":    errOf(e.s.Conversation(e.ctx, long, "room:1")),
		"conversation bad conv":    errOf(e.s.Conversation(e.ctx, "a", "")),
		"conversations bad user":   errOf(e.s.Conversations(e.ctx, bad, "", 0)),
		"conversations bad after":  errOf(e.s.Conversations(e.ctx, "a", "a}b", 0)),
		"users bad after":          errOf(e.s.Users(e.ctx, "a b", 0)),
		"delete bad user":          e.s.DeleteUser(e.ctx, "a\tb"),
		"delete long user":         e.s.DeleteUser(e.ctx, long),
		"conversations long after": errOf(e.s.Conversations(e.ctx, "a", long, 0)),
	} {
		var ae *inbox.ArgError
		if !errors.Is(err, inbox.ErrInvalid) || !errors.As(err, &ae) {
			e.t.Errorf("%s: %v, want an *ArgError with ErrInvalid", name, err)
		}
	}
	if p := e.users("", 0); len(p.Users) != 3 {
		e.t.Fatalf("refused calls stored something: %+v", p.Users)
	}
}

// MaxAppendBytes bounds an append's entry bytes over all its recipients.
func testAppendBytesBound(e *env) {
	m := msg("room:1", "", 0)
	m.Payload = []byte(`"` + strings.Repeat("x", 998) + `"`)
	if _, err := e.s.Append(e.ctx, []string{"a", "b"}, m); err != nil {
		e.t.Fatalf("two recipients within the bound: %v", err)
	}
	_, err := e.s.Append(e.ctx, []string{"a", "b", "c"}, m)
	var ae *inbox.ArgError
	if !errors.Is(err, inbox.ErrTooLarge) || !errors.As(err, &ae) || ae.Arg != "recipients" {
		e.t.Fatalf("three recipients over the bound: %v", err)
	}
	if s := e.state("a"); s.Top != 1 {
		e.t.Fatalf("a refused append stored something: %+v", s)
	}
}

// A read with a done context fails with the context's error; after
// Close, every call fails with ErrClosed, Close included.
func testClose(e *env) {
	e.append([]string{"alice"}, msg("room:1", "bob", 1))
	done, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.s.Read(done, "alice", 0, 0); !errors.Is(err, context.Canceled) {
		e.t.Fatalf("Read with a cancelled context: %v", err)
	}
	if _, err := e.s.State(done, "alice"); !errors.Is(err, context.Canceled) {
		e.t.Fatalf("State with a cancelled context: %v", err)
	}
	if err := e.s.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	if err := e.s.Close(); !errors.Is(err, inbox.ErrClosed) {
		e.t.Fatalf("second Close: %v, want ErrClosed", err)
	}
	e.clock.Advance(time.Second)
	for name, err := range map[string]error{
		"Append":        errOf(e.s.Append(e.ctx, []string{"alice"}, msg("room:1", "bob", 2))),
		"Read":          errOf(e.s.Read(e.ctx, "alice", 0, 0)),
		"State":         errOf(e.s.State(e.ctx, "alice")),
		"Ack":           errOf(e.s.Ack(e.ctx, "alice", "phone", 1)),
		"Device":        errOf(e.s.Device(e.ctx, "alice", "phone")),
		"Devices":       errOf(e.s.Devices(e.ctx, "alice")),
		"ForgetDevice":  e.s.ForgetDevice(e.ctx, "alice", "phone"),
		"MarkRead":      errOf(e.s.MarkRead(e.ctx, "alice", "room:1", 1)),
		"Conversation":  errOf(e.s.Conversation(e.ctx, "alice", "room:1")),
		"Conversations": errOf(e.s.Conversations(e.ctx, "alice", "", 0)),
		"DeleteUser":    e.s.DeleteUser(e.ctx, "alice"),
		"Users":         errOf(e.s.Users(e.ctx, "", 0)),
	} {
		if !errors.Is(err, inbox.ErrClosed) {
			e.t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}
