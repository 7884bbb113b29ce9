package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// wsOracle decodes b with gobwas/ws as an independent reference; it
// reports the header, its size and whether gobwas accepted it.
func wsOracle(b []byte) (ws.Header, int, error) {
	r := bytes.NewReader(b)
	h, err := ws.ReadHeader(r)
	return h, len(b) - r.Len(), err
}

func TestParseFrameHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name string
		in   []byte
		want ws.Header
		n    int
		err  error
	}{
		{"empty", nil, ws.Header{}, 0, ErrNeedMore},
		{"one byte", []byte{0x81}, ws.Header{}, 0, ErrNeedMore},
		{"text 7-bit", []byte{0x81, 0x05}, ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, 2, nil},
		{"7-bit max", []byte{0x82, 125}, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 125}, 2, nil},
		{"masked 7-bit", []byte{0x81, 0x85, 1, 2, 3, 4}, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask, Length: 5}, 6, nil},
		{"masked short", []byte{0x81, 0x85, 1, 2, 3}, ws.Header{}, 0, ErrNeedMore},
		{"16-bit", []byte{0x02, 126, 0x01, 0x00}, ws.Header{OpCode: ws.OpBinary, Length: 256}, 4, nil},
		{"16-bit short", []byte{0x02, 126, 0x01}, ws.Header{}, 0, ErrNeedMore},
		{"16-bit masked", []byte{0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4}, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 65535}, 8, nil},
		{"16-bit non-minimal", []byte{0x81, 126, 0, 5}, ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, 4, nil},
		{"64-bit", []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 65536}, 10, nil},
		{"64-bit masked", []byte{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 1 << 32}, 14, nil},
		{"64-bit max", []byte{0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1<<63 - 1}, 10, nil},
		{"64-bit MSB", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, ws.Header{}, 0, ErrBadFrame},
		{"64-bit MSB masked", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, ws.Header{}, 0, ErrBadFrame},
		{"64-bit short", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0}, ws.Header{}, 0, ErrNeedMore},
		{"64-bit non-minimal", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 1}, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1}, 10, nil},
		{"rsv and reserved op", []byte{0x7b, 0x00}, ws.Header{Rsv: 7, OpCode: 0xb}, 2, nil},
		{"close control", []byte{0x88, 0x02}, ws.Header{Fin: true, OpCode: ws.OpClose, Length: 2}, 2, nil},
		{"oversized ping (semantics not checked)", []byte{0x89, 126, 0, 200}, ws.Header{Fin: true, OpCode: ws.OpPing, Length: 200}, 4, nil},
		{"fragmented ping (semantics not checked)", []byte{0x09, 0x00}, ws.Header{OpCode: ws.OpPing}, 2, nil},
		{"trailing payload", []byte{0x81, 0x02, 'h', 'i'}, ws.Header{Fin: true, OpCode: ws.OpText, Length: 2}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseFrameHeader(tc.in)
			if !errors.Is(err, tc.err) || n != tc.n || (err == nil && h != tc.want) {
				t.Fatalf("got %+v n=%d err=%v, want %+v n=%d err=%v", h, n, err, tc.want, tc.n, tc.err)
			}
			oh, on, oerr := wsOracle(tc.in)
			switch {
			case err == nil:
				if oerr != nil || oh != h || on != n {
					t.Errorf("oracle %+v n=%d err=%v disagrees", oh, on, oerr)
				}
			case err == ErrBadFrame:
				if oerr != ws.ErrHeaderLengthMSB {
					t.Errorf("oracle err=%v, want ErrHeaderLengthMSB", oerr)
				}
			case err == ErrNeedMore:
				if oerr == nil {
					t.Errorf("oracle accepted a short header")
				}
			}
			if err == nil {
				if got := AppendFrameHeader(nil, h); !bytes.Equal(got, tc.in[:n]) && isMinimal(h, tc.in) {
					t.Errorf("AppendFrameHeader = %x, want %x", got, tc.in[:n])
				}
				if ws.HeaderSize(h) != n && isMinimal(h, tc.in) {
					t.Errorf("ws.HeaderSize = %d, want %d", ws.HeaderSize(h), n)
				}
			}
		})
	}
}

// isMinimal reports whether the wire header in b used the shortest
// length encoding for h.
func isMinimal(h ws.Header, b []byte) bool {
	l7 := b[1] & 0x7f
	switch {
	case h.Length < 126:
		return l7 < 126
	case h.Length <= 0xffff:
		return l7 == 126
	}
	return true
}

func TestFrameHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 65535, 65536, 1 << 32, 1<<63 - 1}
	for _, l := range lengths {
		for _, masked := range []bool{false, true} {
			for _, op := range []ws.OpCode{ws.OpContinuation, ws.OpText, ws.OpBinary, ws.OpClose, ws.OpPing, ws.OpPong, 0xf} {
				h := ws.Header{Fin: l%2 == 0, Rsv: byte(l % 8), OpCode: op, Masked: masked, Length: l}
				if masked {
					h.Mask = [4]byte{0xde, 0xad, byte(l), 0xef}
				}
				b := AppendFrameHeader([]byte{}, h)
				got, n, err := ParseFrameHeader(append(b, 0xaa, 0xbb))
				if err != nil || n != len(b) || got != h {
					t.Fatalf("round trip %+v: got %+v n=%d err=%v", h, got, n, err)
				}
				var w bytes.Buffer
				if err := ws.WriteHeader(&w, h); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(w.Bytes(), b) {
					t.Fatalf("%+v: ours %x, gobwas %x", h, b, w.Bytes())
				}
			}
		}
	}
	if b := AppendFrameHeader(nil, ws.Header{OpCode: ws.OpText, Length: -5}); !bytes.Equal(b, []byte{0x01, 0x00}) {
		t.Errorf("negative length encoded as %x", b)
	}
}

func TestAppendFrameAndSize(t *testing.T) {
	for _, l := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		p := bytes.Repeat([]byte{'x'}, l)
		f := AppendFrame([]byte("pre"), ws.OpBinary, p)
		f = f[3:]
		if len(f) != FrameSize(l) {
			t.Fatalf("len %d: frame %d bytes, FrameSize %d", l, len(f), FrameSize(l))
		}
		want, err := ws.CompileFrame(ws.NewBinaryFrame(p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f, want) {
			t.Fatalf("len %d: frame differs from ws.CompileFrame", l)
		}
	}
	if FrameSize(-1) != 2 {
		t.Error("FrameSize(-1) != 2")
	}
}

func TestAppendCloseFrame(t *testing.T) {
	if got := AppendCloseFrame(nil, 0, "ignored"); !bytes.Equal(got, []byte{0x88, 0x00}) {
		t.Errorf("code 0: %x", got)
	}
	if got := AppendCloseFrame(nil, ws.StatusNormalClosure, ""); !bytes.Equal(got, ws.CompiledCloseNormalClosure) {
		t.Errorf("1000: %x, want %x", got, ws.CompiledCloseNormalClosure)
	}
	got := AppendCloseFrame(nil, ws.StatusGoingAway, "bye")
	if !bytes.Equal(got, []byte{0x88, 5, 0x03, 0xe9, 'b', 'y', 'e'}) {
		t.Errorf("1001 bye: %x", got)
	}
	// 122 ASCII bytes then a 3-byte rune straddling the 123-byte limit.
	long := strings.Repeat("a", 122) + "€" + "tail"
	got = AppendCloseFrame(nil, 4001, long)
	h, n, err := ParseFrameHeader(got)
	if err != nil || h.OpCode != ws.OpClose || !h.Fin || h.Length != 124 || int(h.Length) != len(got)-n {
		t.Fatalf("truncated close header %+v n=%d err=%v len=%d", h, n, err, len(got))
	}
	if code, err := CheckClosePayload(got[n:]); err != nil || code != 4001 {
		t.Errorf("truncated reason invalid: %v %v", code, err)
	}
	got = AppendCloseFrame(nil, 4001, strings.Repeat("b", 300))
	if len(got) != 2+125 {
		t.Errorf("ASCII truncation: %d bytes", len(got))
	}
	if err := ws.CheckHeader(ws.Header{Fin: true, OpCode: ws.OpClose, Length: int64(len(got) - 2)}, ws.StateClientSide); err != nil {
		t.Errorf("ws.CheckHeader: %v", err)
	}
}

func TestCheckClosePayload(t *testing.T) {
	payload := func(code uint16, reason string) []byte {
		return append([]byte{byte(code >> 8), byte(code)}, reason...)
	}
	allowed := []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}
	rejected := []uint16{0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}
	for _, c := range allowed {
		if code, err := CheckClosePayload(payload(c, "ok")); err != nil || uint16(code) != c {
			t.Errorf("code %d: %v %v", c, code, err)
		}
	}
	for _, c := range rejected {
		if _, err := CheckClosePayload(payload(c, "")); !errors.Is(err, ErrBadClosePayload) {
			t.Errorf("code %d: err=%v, want ErrBadClosePayload", c, err)
		}
	}
	if code, err := CheckClosePayload(nil); code != ws.StatusNoStatusRcvd || err != nil {
		t.Errorf("empty: %v %v", code, err)
	}
	if _, err := CheckClosePayload([]byte{0x03}); !errors.Is(err, ErrBadClosePayload) {
		t.Errorf("1 byte: %v", err)
	}
	if _, err := CheckClosePayload(payload(1000, "\xff\xfe")); !errors.Is(err, ErrCloseReasonUTF8) {
		t.Errorf("bad utf-8: %v", err)
	}
	if _, err := CheckClosePayload(payload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")); err != nil {
		t.Errorf("valid utf-8: %v", err)
	}
}
