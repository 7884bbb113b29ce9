package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppendCompactJSON checks the validator against encoding/json as the
// oracle: where the input is valid UTF-8 and within the depth, ours
// accepts exactly what json.Valid accepts and json.Unmarshal can hold, and
// writes exactly what json.Compact writes. Always: no panic, dst untouched
// on error, and an output that is itself valid, compact and a fixed point.
func FuzzAppendCompactJSON(f *testing.F) {
	for _, tc := range compactCases {
		f.Add([]byte(tc.in), uint8(tc.depth))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxDepth uint8) {
		dst := []byte("pre")
		out, err := AppendCompactJSON(dst[:3:3], data, int(maxDepth))
		if err != nil {
			if string(out) != "pre" {
				t.Fatalf("dst changed on error: %q", out)
			}
			switch err {
			case ErrInvalidJSON, ErrTooDeep, ErrNumberRange:
			case ErrInvalidUTF8:
				if utf8.Valid(data) {
					t.Fatal("ErrInvalidUTF8 on valid UTF-8")
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
		} else {
			out = out[3:]
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("accepted %q, wrote invalid %q", data, out)
			}
			if again, err := AppendCompactJSON(nil, out, int(maxDepth)); err != nil || !bytes.Equal(again, out) {
				t.Fatalf("compact output %q is not a fixed point: %q %v", out, again, err)
			}
		}
		if !utf8.Valid(data) {
			if err == nil {
				t.Fatalf("accepted invalid UTF-8 %q", data)
			}
			return
		}
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("accepted %q, which json.Valid refuses", data)
			}
			return
		}
		var v any
		fits := json.Unmarshal(data, &v) == nil // fails on numbers beyond float64
		switch d := depth(t, string(data)); {
		case d > clampDepth(int(maxDepth)):
			if err != ErrTooDeep && err != ErrNumberRange {
				t.Fatalf("depth %d over %d: err = %v", d, clampDepth(int(maxDepth)), err)
			}
		case !fits:
			if err != ErrNumberRange {
				t.Fatalf("json.Unmarshal cannot hold %q; err = %v", data, err)
			}
		default:
			var want bytes.Buffer
			if cerr := json.Compact(&want, data); cerr != nil {
				t.Fatal(cerr)
			}
			if err != nil || !bytes.Equal(out, want.Bytes()) {
				t.Fatalf("%q: got %q %v, json.Compact %q", data, out, err, want.Bytes())
			}
		}
	})
}

// referenceMessage decodes b the way ParseClientMessage promises to, with
// encoding/json doing every JSON step: exact keys (a map), the last of a
// repeated key, null as absent, Go's decoding of escapes, json.Compact for
// data. ok is false when b is outside what the reference covers: invalid
// UTF-8, invalid JSON, numbers beyond float64 or nesting beyond maxDepth+1.
func referenceMessage(t *testing.T, b []byte, m *ClientMessage) (err error, ok bool) {
	var v any
	if !utf8.Valid(b) || json.Unmarshal(b, &v) != nil || depth(t, string(b)) > DefaultMaxDepth+1 {
		return nil, false
	}
	*m = ClientMessage{}
	if _, isObject := v.(map[string]any); !isObject {
		return ErrBadMessage, true
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	present := func(k string) bool { return fields[k] != nil && string(fields[k]) != "null" }
	badType := false
	str := func(k string) string {
		var s string
		if present(k) && json.Unmarshal(fields[k], &s) != nil {
			badType = true
		}
		return s
	}
	num := func(k string) (uint64, bool) {
		var n uint64
		if !present(k) {
			return 0, false
		}
		if json.Unmarshal(fields[k], &n) != nil {
			badType = true
		}
		return n, true
	}
	op, ch, id, epoch := str("op"), str("ch"), str("id"), str("epoch")
	token, idem, to, conv := str("token"), str("idem"), str("to"), str("conv")
	since, hasSince := num("since")
	seq, hasSeq := num("seq")
	var echo bool
	if present("echo") && json.Unmarshal(fields["echo"], &echo) != nil {
		badType = true
	}
	switch {
	case badType:
		return ErrBadMessage, true
	case len(id) > MaxIDBytes:
		return ErrBadID, true
	}
	m.ID = id
	switch {
	case len(token) > MaxTokenBytes:
		return ErrBadToken, true
	case len(idem) > MaxIdemBytes:
		return ErrBadIdem, true
	}
	k := -1
	for i := range opTable {
		if op == opTable[i].name {
			k = i
		}
	}
	if k < 0 {
		return ErrUnknownOp, true
	}
	e := opTable[k]
	m.Op, m.Token, m.Idem, m.Seq, m.HasSeq, m.Echo = e.op, token, idem, seq, hasSeq, echo
	if e.channel {
		if !ValidChannel(ch) {
			return ErrBadChannel, true
		}
		m.Channel, m.Epoch, m.Since, m.HasSince = ch, epoch, since, hasSince
	}
	if e.to {
		if len(to) > MaxUserBytes || !ValidChannel(to) {
			return ErrBadTo, true
		}
		m.To = to
	}
	if e.conv {
		switch {
		case !ValidChannel(conv):
			return ErrBadConv, true
		case !hasSeq:
			return ErrMissingSeq, true
		}
		m.Conv = conv
	}
	if e.data {
		if !present("data") {
			return ErrMissingData, true
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, fields["data"]); err != nil {
			t.Fatal(err)
		}
		m.Data = buf.Bytes()
	}
	return nil, true
}

// FuzzParseClientMessage: never a panic; what is accepted keeps every
// limit; and where the reference decoder applies, the same error, and on
// success the same message.
func FuzzParseClientMessage(f *testing.F) {
	for _, tc := range messageCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`{"op":"sub","ch":"a","ch":null,"since":1,"since":null,"echo":true,"echo":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m ClientMessage
		err := ParseClientMessage(b, &m)
		if len(m.ID) > MaxIDBytes {
			t.Fatalf("id of %d bytes", len(m.ID))
		}
		if err == nil {
			e := -1
			for i := range opTable {
				if opTable[i].op == m.Op {
					e = i
				}
			}
			switch {
			case e < 0:
				t.Fatalf("accepted op %v", m.Op)
			case opTable[e].channel && !ValidChannel(m.Channel):
				t.Fatalf("accepted channel %q", m.Channel)
			case len(m.Token) > MaxTokenBytes || len(m.Idem) > MaxIdemBytes:
				t.Fatalf("token %d, idem %d bytes", len(m.Token), len(m.Idem))
			case opTable[e].data != (m.Data != nil):
				t.Fatalf("op %v with data %q", m.Op, m.Data)
			case m.Data != nil:
				if c, cerr := AppendCompactJSON(nil, m.Data, 0); cerr != nil || !bytes.Equal(c, m.Data) || string(m.Data) == "null" || cap(m.Data) != len(m.Data) {
					t.Fatalf("data %q is not compact valid non-null JSON (%v)", m.Data, cerr)
				}
			}
			if strings.ContainsAny(string(m.Data), "\r\n") {
				t.Fatalf("data holds a raw newline: %q", m.Data)
			}
		}
		var ref ClientMessage
		rerr, ok := referenceMessage(t, b, &ref)
		if !ok {
			return
		}
		if err != rerr {
			t.Fatalf("%q: err = %v, reference %v", b, err, rerr)
		}
		if err == nil && msgSummary(&m) != msgSummary(&ref) {
			t.Fatalf("%q:\n got %s\n ref %s", b, msgSummary(&m), msgSummary(&ref))
		}
		if err != nil && err != ErrBadID && m.ID != ref.ID && ref.ID != "" {
			t.Fatalf("%q: id %q on error, reference %q", b, m.ID, ref.ID)
		}
	})
}
