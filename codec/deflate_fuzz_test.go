package codec

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strings"
	"testing"
)

// inflateSeeds are the RFC 7692 §7.2.3 payloads, a zip bomb and some
// broken data.
var inflateSeeds = [][]byte{
	rfcHello,
	{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00},
	{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00},
	{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00},
	{0xf2, 0x00, 0x11, 0x00, 0x00},
	{0x00},
	{0x07, 0x00},
	AppendDeflate(nil, make([]byte, 1<<20)),
	AppendDeflate(nil, []byte(strings.Repeat(`{"op":"pub","ch":"room","data":"κόσμε"}`, 40))),
}

// FuzzInflate checks AppendInflate against compress/flate's reader fed the
// same message and tail, read through a limit of one byte more than
// AppendInflate's: the same bytes, ErrInflateTooLarge exactly when the
// reader gets past the limit, ErrBadDeflate exactly when it fails first,
// and never more than limit bytes. Then the input, taken as a message,
// must survive AppendDeflate and AppendInflate unchanged.
func FuzzInflate(f *testing.F) {
	for i, s := range inflateSeeds {
		f.Add(s, uint16(64<<i))
	}
	f.Fuzz(func(t *testing.T, data []byte, limit16 uint16) {
		limit := int(limit16)
		got, err := AppendInflate([]byte("pre"), data, limit)
		if string(got[:3]) != "pre" {
			t.Fatal("dst prefix overwritten")
		}
		got = got[3:]
		if len(got) > limit {
			t.Fatalf("%d bytes over limit %d", len(got), limit)
		}

		r := flate.NewReader(io.MultiReader(bytes.NewReader(data), strings.NewReader(inflateTail)))
		want, oerr := io.ReadAll(io.LimitReader(r, int64(limit)+1))
		switch {
		case len(want) > limit:
			if !errors.Is(err, ErrInflateTooLarge) || !bytes.Equal(got, want[:limit]) {
				t.Fatalf("oracle passes limit %d; got %d bytes, %v", limit, len(got), err)
			}
		case oerr != nil:
			if !errors.Is(err, ErrBadDeflate) || !bytes.Equal(got, want) {
				t.Fatalf("oracle fails (%v) after %d bytes; got %d bytes, %v", oerr, len(want), len(got), err)
			}
		default:
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("oracle reads %d bytes; got %d bytes, %v", len(want), len(got), err)
			}
		}

		c := AppendDeflate(nil, data)
		back, err := AppendInflate(nil, c, len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("round trip of %d bytes: %v", len(data), err)
		}
	})
}

// FuzzNegotiateDeflate: any field value is handled without a panic; an
// element before it does not change the outcome; an accepted offer stays
// the accepted one when more offers follow; and the response, read back as
// an offer, is accepted with the same window.
func FuzzNegotiateDeflate(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		`permessage-deflate; server_max_window_bits="1\2", permessage-deflate`,
		`foo; bar="a, permessage-deflate", permessage-deflate; server_max_window_bits=9`,
		"permessage-deflate; client_max_window_bits; client_max_window_bits",
		", ,permessage-deflate;=,x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, ok := negotiateDeflateValue([]byte(v))
		if !ok && p != (DeflateParams{}) {
			t.Fatalf("declined with %+v", p)
		}
		if ok && p.ServerMaxWindowBits != 0 && (p.ServerMaxWindowBits < 8 || p.ServerMaxWindowBits > 15) {
			t.Fatalf("window bits %d", p.ServerMaxWindowBits)
		}
		if p2, ok2 := negotiateDeflateValue([]byte("x-ext; a=1, " + v)); p2 != p || ok2 != ok {
			t.Fatalf("a preceding element changed the outcome: %+v %v, then %+v %v", p, ok, p2, ok2)
		}
		if !ok {
			return
		}
		if p3, ok3 := negotiateDeflateValue([]byte(v + `, permessage-deflate, foo="`)); p3 != p || !ok3 {
			t.Fatalf("a later offer changed the outcome: %+v, then %+v %v", p, p3, ok3)
		}
		resp := AppendDeflateExtension(nil, p)
		if p4, ok4 := negotiateDeflateValue(resp); !ok4 || p4 != p {
			t.Fatalf("response %q read back as %+v %v", resp, p4, ok4)
		}
	})
}
