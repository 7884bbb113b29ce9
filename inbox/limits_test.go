package inbox

import (
	"errors"
	"strings"
	"testing"
)

func TestLimitsAreTypedErrors(t *testing.T) {
	d, _ := openTest(t, func(o *Options) {
		o.MaxPayloadBytes = 100
		o.MaxRecipients = 3
	})
	ok := msg("room:1", "bob", 1)
	long := strings.Repeat("a", MaxIDBytes+1)
	with := func(f func(*Message)) Message { m := ok; f(&m); return m }
	cases := []struct {
		name string
		to   []string
		m    Message
		arg  string
		err  error
	}{
		{"empty user", []string{""}, ok, "user", ErrInvalid},
		{"long user", []string{long}, ok, "user", ErrInvalid},
		{"user with a space", []string{"a b"}, ok, "user", ErrInvalid},
		{"user with NUL", []string{"a\x00"}, ok, "user", ErrInvalid},
		{"user with non-ASCII", []string{"ü"}, ok, "user", ErrInvalid},
		{"no recipients", nil, ok, "recipients", ErrInvalid},
		{"repeated recipient", []string{"a", "b", "a"}, ok, "recipients", ErrInvalid},
		{"too many recipients", []string{"a", "b", "c", "d"}, ok, "recipients", ErrTooLarge},
		{"no conversation", []string{"a"}, with(func(m *Message) { m.Conversation = "" }), "conversation", ErrInvalid},
		{"long conversation", []string{"a"}, with(func(m *Message) { m.Conversation = long }), "conversation", ErrInvalid},
		{"bad from", []string{"a"}, with(func(m *Message) { m.From = "x\ny" }), "from", ErrInvalid},
		{"bad from device", []string{"a"}, with(func(m *Message) { m.FromDevice = long }), "from device", ErrInvalid},
		{"long key", []string{"a"}, with(func(m *Message) { m.Key = strings.Repeat("k", MaxKeyBytes+1) }), "key", ErrInvalid},
		{"bad key", []string{"a"}, with(func(m *Message) { m.Key = "k\"" }), "key", ErrInvalid},
		{"payload not JSON", []string{"a"}, with(func(m *Message) { m.Payload = []byte("{") }), "payload", ErrInvalid},
		{"empty payload", []string{"a"}, with(func(m *Message) { m.Payload = nil }), "payload", ErrInvalid},
		{"payload too large", []string{"a"}, with(func(m *Message) { m.Payload = []byte(`"` + strings.Repeat("x", 100) + `"`) }), "payload", ErrTooLarge},
	}
	for _, c := range cases {
		_, err := d.Append(bg, c.to, c.m)
		var ae *ArgError
		if !errors.Is(err, c.err) || !errors.As(err, &ae) || ae.Arg != c.arg {
			t.Errorf("%s: %v, want %v on %q", c.name, err, c.err, c.arg)
		}
	}
	if p, _ := d.Users(bg, "", 0); len(p.Users) != 0 {
		t.Fatalf("a refused append stored something: %+v", p.Users)
	}
	// The limits themselves are allowed.
	edge := with(func(m *Message) {
		m.Conversation = long[1:]
		m.Key = strings.Repeat("k", MaxKeyBytes)
		m.Payload = []byte(`"` + strings.Repeat("x", 98) + `"`)
	})
	mustAppend(t, d, []string{long[1:], "A-Z_0.9:@/=+#", "c"}, edge)

	for name, err := range map[string]error{
		"ack bad device":  errOf(d.Ack(bg, "a", "", 1)),
		"ack bad user":    errOf(d.Ack(bg, long, "p", 1)),
		"mark bad conv":   errOf(d.MarkRead(bg, "a", "a b", 1)),
		"read bad user":   errOf(d.Read(bg, "", 0, 0)),
		"users bad after": errOf(d.Users(bg, "a b", 0)),
		"delete bad user": d.DeleteUser(bg, "a\tb"),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestAppendBytesBound(t *testing.T) {
	d, _ := openTest(t, func(o *Options) {
		o.MaxPayloadBytes = 1000
		o.MaxAppendBytes = 2500
	})
	m := msg("room:1", "", 0)
	m.Payload = []byte(`"` + strings.Repeat("x", 998) + `"`)
	if _, err := d.Append(bg, []string{"a", "b"}, m); err != nil {
		t.Fatalf("two recipients within the bound: %v", err)
	}
	if _, err := d.Append(bg, []string{"a", "b", "c"}, m); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("three recipients over the bound: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero options: %v", err)
	}
	for name, o := range map[string]Options{
		"durability":   {Durability: 7},
		"window":       {GroupWindow: -1},
		"payload":      {MaxPayloadBytes: 32 << 20},
		"recipients":   {MaxRecipients: -1},
		"append bytes": {MaxPayloadBytes: 1000, MaxAppendBytes: 10},
		"idempotency":  {IdempotencyWindow: 30 * 24 * 3600e9},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
		if _, err := Open(t.TempDir(), o); err == nil {
			t.Errorf("%s: Open accepted %+v", name, o)
		}
	}
	for _, s := range []string{"always", "group", "os"} {
		if d, err := ParseDurability(s); err != nil || d.String() != s {
			t.Errorf("ParseDurability(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := ParseDurability("sometimes"); err == nil {
		t.Error("ParseDurability accepted sometimes")
	}
}
