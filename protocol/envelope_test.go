package protocol

import (
	"fmt"
	"strings"
	"testing"
)

// msgSummary renders every field of m, for comparison.
func msgSummary(m *ClientMessage) string {
	return fmt.Sprintf("op=%v ch=%q id=%q epoch=%q since=%d/%v data=%q token=%q seq=%d/%v idem=%q echo=%v to=%q conv=%q",
		m.Op, m.Channel, m.ID, m.Epoch, m.Since, m.HasSince, m.Data, m.Token, m.Seq, m.HasSeq, m.Idem, m.Echo, m.To, m.Conv)
}

var messageCases = []struct {
	name string
	in   string
	want ClientMessage // on error only ID is compared
	err  error
}{
	// Each op and field.
	{"pub", `{"op":"pub","ch":"room:1","id":"7","data":{"text":"hi"}}`,
		ClientMessage{Op: OpPub, Channel: "room:1", ID: "7", Data: []byte(`{"text":"hi"}`)}, nil},
	{"pub data compacted", "{\"op\":\"pub\",\"ch\":\"a\",\"data\": {\n \"t\" : [ 1, \"a b\" ] }\n}",
		ClientMessage{Op: OpPub, Channel: "a", Data: []byte(`{"t":[1,"a b"]}`)}, nil},
	{"pub scalar data", `{"op":"pub","ch":"a","data":"x"}`, ClientMessage{Op: OpPub, Channel: "a", Data: []byte(`"x"`)}, nil},
	{"pub data false", `{"op":"pub","ch":"a","data":false}`, ClientMessage{Op: OpPub, Channel: "a", Data: []byte(`false`)}, nil},
	{"sub", `{"op":"sub","ch":"room:1","id":"s1"}`, ClientMessage{Op: OpSub, Channel: "room:1", ID: "s1"}, nil},
	{"sub since epoch", `{"op":"sub","ch":"c","since":42,"epoch":"dn1f.1"}`,
		ClientMessage{Op: OpSub, Channel: "c", Since: 42, HasSince: true, Epoch: "dn1f.1"}, nil},
	{"since 0", `{"op":"sub","ch":"c","since":0}`, ClientMessage{Op: OpSub, Channel: "c", HasSince: true}, nil},
	{"since max", `{"op":"sub","ch":"c","since":18446744073709551615}`,
		ClientMessage{Op: OpSub, Channel: "c", Since: 1<<64 - 1, HasSince: true}, nil},
	{"since null", `{"op":"sub","ch":"c","since":null}`, ClientMessage{Op: OpSub, Channel: "c"}, nil},
	{"unsub", `{"op":"unsub","ch":"c","id":"u"}`, ClientMessage{Op: OpUnsub, Channel: "c", ID: "u"}, nil},
	{"ping", `{"op":"ping","id":"x"}`, ClientMessage{Op: OpPing, ID: "x"}, nil},
	{"ping ignores channel fields", `{"op":"ping","ch":"!bad","since":3,"epoch":"e"}`, ClientMessage{Op: OpPing}, nil},
	{"sub ignores data", `{"op":"sub","ch":"c","data":{"x":[1]}}`, ClientMessage{Op: OpSub, Channel: "c"}, nil},
	{"new fields", `{"op":"ping","token":"t.k.n","seq":9,"idem":"k1","echo":true}`,
		ClientMessage{Op: OpPing, Token: "t.k.n", Seq: 9, HasSeq: true, Idem: "k1", Echo: true}, nil},
	{"echo false", `{"op":"ping","echo":false}`, ClientMessage{Op: OpPing}, nil},
	{"seq null", `{"op":"ping","seq":null}`, ClientMessage{Op: OpPing}, nil},
	{"escapes decoded", `{"op":"p\u0075b","ch":"room\u003a1","id":"a\"b\\c\/\u00e9\ud83d\ude00","data":1}`,
		ClientMessage{Op: OpPub, Channel: "room:1", ID: "a\"b\\c/é😀", Data: []byte(`1`)}, nil},
	{"control escapes in id", `{"op":"ping","id":"\b\f\n\r\t\u0000"}`, ClientMessage{Op: OpPing, ID: "\b\f\n\r\t\x00"}, nil},
	{"lone surrogate in id becomes U+FFFD", `{"op":"ping","id":"\ud800x\udc00"}`, ClientMessage{Op: OpPing, ID: "\ufffdx\ufffd"}, nil},
	{"lone surrogate kept in data", `{"op":"pub","ch":"c","data":"\ud800"}`, ClientMessage{Op: OpPub, Channel: "c", Data: []byte(`"\ud800"`)}, nil},
	{"raw UTF-8", `{"op":"ping","id":"κόσμε"}`, ClientMessage{Op: OpPing, ID: "κόσμε"}, nil},
	{"escaped key", `{"\u006fp":"ping","i\u0064":"x"}`, ClientMessage{Op: OpPing, ID: "x"}, nil},
	{"unknown fields ignored", `{"x":{"y":[1,2,{"z":null}]},"op":"ping","OP":"pub","Id":"no"}`, ClientMessage{Op: OpPing}, nil},
	{"duplicate: last wins", `{"op":"pub","op":"ping","id":"a","id":"b"}`, ClientMessage{Op: OpPing, ID: "b"}, nil},
	{"duplicate: null makes absent", `{"op":"ping","id":"a","id":null}`, ClientMessage{Op: OpPing}, nil},
	{"duplicate data", `{"op":"pub","ch":"c","data":1,"data":[2]}`, ClientMessage{Op: OpPub, Channel: "c", Data: []byte(`[2]`)}, nil},
	{"duplicate: a bad first value is forgotten", `{"op":"sub","ch":"c","since":"x","since":5}`,
		ClientMessage{Op: OpSub, Channel: "c", Since: 5, HasSince: true}, nil},
	{"white space around", " \r\n\t{ \"op\" : \"ping\" , \"id\" : \"w\" } \n", ClientMessage{Op: OpPing, ID: "w"}, nil},
	{"id at the limit", `{"op":"ping","id":"` + strings.Repeat("i", 64) + `"}`, ClientMessage{Op: OpPing, ID: strings.Repeat("i", 64)}, nil},
	{"escaped id at the limit", `{"op":"ping","id":"` + strings.Repeat(`\u0069`, 64) + `"}`, ClientMessage{Op: OpPing, ID: strings.Repeat("i", 64)}, nil},
	{"token at the limit", `{"op":"ping","token":"` + strings.Repeat("t", 4096) + `"}`, ClientMessage{Op: OpPing, Token: strings.Repeat("t", 4096)}, nil},
	{"channel at the limit", `{"op":"sub","ch":"` + strings.Repeat("c", 128) + `"}`, ClientMessage{Op: OpSub, Channel: strings.Repeat("c", 128)}, nil},

	// Errors.
	{"not JSON", `op=pub`, ClientMessage{}, ErrBadMessage},
	{"empty", ``, ClientMessage{}, ErrBadMessage},
	{"array", `[{"op":"ping"}]`, ClientMessage{}, ErrBadMessage},
	{"null", `null`, ClientMessage{}, ErrBadMessage},
	{"string", `"ping"`, ClientMessage{}, ErrBadMessage},
	{"two objects", `{"op":"ping"}{}`, ClientMessage{}, ErrBadMessage},
	{"trailing comma", `{"op":"ping",}`, ClientMessage{}, ErrBadMessage},
	{"unclosed", `{"op":"ping"`, ClientMessage{}, ErrBadMessage},
	{"syntax error after the id keeps the id", `{"id":"r1","op":"ping",x}`, ClientMessage{ID: "r1"}, ErrBadMessage},
	{"syntax error before the id", `{"op":x,"id":"r1"}`, ClientMessage{}, ErrBadMessage},
	{"bad syntax in an ignored field", `{"op":"ping","x":[1,}`, ClientMessage{}, ErrBadMessage},
	{"op not a string", `{"op":1,"id":"t"}`, ClientMessage{ID: "t"}, ErrBadMessage},
	{"ch not a string", `{"op":"sub","ch":["a"]}`, ClientMessage{}, ErrBadMessage},
	{"id not a string", `{"op":"ping","id":7}`, ClientMessage{}, ErrBadMessage},
	{"epoch not a string", `{"op":"sub","ch":"c","epoch":1}`, ClientMessage{}, ErrBadMessage},
	{"token not a string", `{"op":"ping","token":{}}`, ClientMessage{}, ErrBadMessage},
	{"idem not a string", `{"op":"ping","idem":true}`, ClientMessage{}, ErrBadMessage},
	{"echo not a boolean", `{"op":"ping","echo":"true"}`, ClientMessage{}, ErrBadMessage},
	{"since a string", `{"op":"sub","ch":"c","since":"5"}`, ClientMessage{}, ErrBadMessage},
	{"since negative", `{"op":"sub","ch":"c","since":-1}`, ClientMessage{}, ErrBadMessage},
	{"since minus zero", `{"op":"sub","ch":"c","since":-0}`, ClientMessage{}, ErrBadMessage},
	{"since fraction", `{"op":"sub","ch":"c","since":1.0}`, ClientMessage{}, ErrBadMessage},
	{"since exponent", `{"op":"sub","ch":"c","since":1e3}`, ClientMessage{}, ErrBadMessage},
	{"since overflow", `{"op":"sub","ch":"c","since":18446744073709551616}`, ClientMessage{}, ErrBadMessage},
	{"seq overflow", `{"op":"ping","seq":99999999999999999999}`, ClientMessage{}, ErrBadMessage},
	{"a wrong type anywhere fails even for another op", `{"op":"ping","since":"x"}`, ClientMessage{}, ErrBadMessage},
	{"invalid UTF-8 in data", "{\"op\":\"pub\",\"ch\":\"c\",\"id\":\"u\",\"data\":\"\xff\"}", ClientMessage{ID: "u"}, ErrInvalidUTF8},
	{"invalid UTF-8 in a field", "{\"op\":\"ping\",\"id\":\"\xc3\x28\"}", ClientMessage{}, ErrInvalidUTF8},
	{"invalid UTF-8 in a key", "{\"\xff\":1,\"op\":\"ping\"}", ClientMessage{}, ErrInvalidUTF8},
	{"data too deep", `{"op":"pub","ch":"c","id":"d","data":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, ClientMessage{ID: "d"}, ErrTooDeep},
	{"ignored field too deep", `{"op":"ping","x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, ClientMessage{}, ErrTooDeep},
	{"number out of range in data", `{"op":"pub","ch":"c","data":[1e999]}`, ClientMessage{}, ErrNumberRange},
	{"id too long", `{"op":"ping","id":"` + strings.Repeat("i", 65) + `"}`, ClientMessage{}, ErrBadID},
	{"id too long once unescaped", `{"op":"ping","id":"` + strings.Repeat(`\u00e9`, 33) + `"}`, ClientMessage{}, ErrBadID},
	{"token too long", `{"op":"ping","id":"k","token":"` + strings.Repeat("t", 4097) + `"}`, ClientMessage{ID: "k"}, ErrBadToken},
	{"idem too long", `{"op":"ping","id":"k","idem":"` + strings.Repeat("k", 65) + `"}`, ClientMessage{ID: "k"}, ErrBadIdem},
	{"dm", `{"op":"dm","to":"bob","data":"hi","id":"d","idem":"k"}`, ClientMessage{Op: OpDM, To: "bob", Data: []byte(`"hi"`), ID: "d", Idem: "k"}, nil},
	{"dm keeps no channel", `{"op":"dm","ch":"room:1","to":"bob","data":1}`, ClientMessage{Op: OpDM, To: "bob", Data: []byte(`1`)}, nil},
	{"dm without to", `{"op":"dm","data":1,"id":"d"}`, ClientMessage{ID: "d"}, ErrBadTo},
	{"dm to a bad user", `{"op":"dm","to":"b b","data":1}`, ClientMessage{}, ErrBadTo},
	{"dm to a long user", `{"op":"dm","to":"` + strings.Repeat("u", 65) + `","data":1}`, ClientMessage{}, ErrBadTo},
	{"dm without data", `{"op":"dm","to":"bob"}`, ClientMessage{}, ErrMissingData},
	{"read", `{"op":"read","conv":"dm:3:bob:eve","seq":9}`, ClientMessage{Op: OpRead, Conv: "dm:3:bob:eve", Seq: 9, HasSeq: true}, nil},
	{"read without seq", `{"op":"read","conv":"c","id":"r"}`, ClientMessage{ID: "r"}, ErrMissingSeq},
	{"read without conv", `{"op":"read","seq":1}`, ClientMessage{}, ErrBadConv},
	{"unread", `{"op":"unread","id":"u"}`, ClientMessage{Op: OpUnread, ID: "u"}, nil},
	{"unknown op", `{"op":"nope","id":"n"}`, ClientMessage{ID: "n"}, ErrUnknownOp},
	{"no op", `{"id":"n"}`, ClientMessage{ID: "n"}, ErrUnknownOp},
	{"null op", `{"op":null}`, ClientMessage{}, ErrUnknownOp},
	{"op in another case", `{"op":"PUB","ch":"c","data":1}`, ClientMessage{}, ErrUnknownOp},
	{"ack", `{"op":"ack","ch":"c","seq":3}`, ClientMessage{Op: OpAck, Channel: "c", Seq: 3, HasSeq: true}, nil},
	{"refresh", `{"op":"refresh","token":"t","id":"r"}`, ClientMessage{Op: OpRefresh, Token: "t", ID: "r"}, nil},
	{"ops not served", `{"op":"history","ch":"c"}`, ClientMessage{}, ErrUnknownOp},
	{"long op", `{"op":"` + strings.Repeat("p", 100) + `"}`, ClientMessage{}, ErrUnknownOp},
	{"no channel", `{"op":"sub","id":"c"}`, ClientMessage{ID: "c"}, ErrBadChannel},
	{"bad channel", `{"op":"pub","ch":"a b","data":1}`, ClientMessage{}, ErrBadChannel},
	{"escaped bad channel", `{"op":"sub","ch":"a\u0020b"}`, ClientMessage{}, ErrBadChannel},
	{"channel too long", `{"op":"sub","ch":"` + strings.Repeat("c", 129) + `"}`, ClientMessage{}, ErrBadChannel},
	{"pub without data", `{"op":"pub","ch":"c","id":"p"}`, ClientMessage{ID: "p"}, ErrMissingData},
	{"pub with null data", `{"op":"pub","ch":"c","data":null}`, ClientMessage{}, ErrMissingData},
	{"pub with data then null", `{"op":"pub","ch":"c","data":1,"data":null}`, ClientMessage{}, ErrMissingData},
}

func TestParseClientMessage(t *testing.T) {
	for _, tc := range messageCases {
		t.Run(tc.name, func(t *testing.T) {
			m := ClientMessage{Op: OpPub, Channel: "stale", Data: []byte("stale")}
			err := ParseClientMessage([]byte(tc.in), &m)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				if m.ID != tc.want.ID {
					t.Fatalf("ID = %q on error, want %q", m.ID, tc.want.ID)
				}
				return
			}
			if got, want := msgSummary(&m), msgSummary(&tc.want); got != want {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
			if cap(m.Data) != len(m.Data) {
				t.Fatalf("Data has capacity %d past its length %d: an append would write into the strings", cap(m.Data), len(m.Data))
			}
		})
	}
}

// TestClientMessageOwnsItsBytes: nothing in the message aliases the input,
// which the caller reuses once the call returns.
func TestClientMessageOwnsItsBytes(t *testing.T) {
	in := []byte(`{"op":"pub","ch":"room:1","id":"7","epoch":"e","token":"t","idem":"i","data":{"text":"hi"}}`)
	var m ClientMessage
	if err := ParseClientMessage(in, &m); err != nil {
		t.Fatal(err)
	}
	want := msgSummary(&m)
	for i := range in {
		in[i] = 'X'
	}
	if got := msgSummary(&m); got != want {
		t.Fatalf("message changed with its input:\n got %s\nwant %s", got, want)
	}
	m.Data = append(m.Data, "more"...)
	if got := msgSummary(&m); !strings.Contains(got, `ch="room:1" id="7" epoch="e"`) || !strings.Contains(got, `token="t"`) {
		t.Fatalf("appending to Data changed the strings: %s", got)
	}
}

func TestMessageLimitsMaxDepth(t *testing.T) {
	in := []byte(`{"op":"pub","ch":"c","data":[[[1]]]}`)
	var m ClientMessage
	if err := (MessageLimits{MaxDepth: 3}).ParseClientMessage(in, &m); err != nil {
		t.Fatalf("depth 3: %v", err)
	}
	if err := (MessageLimits{MaxDepth: 2}).ParseClientMessage(in, &m); err != ErrTooDeep {
		t.Fatalf("depth 2: %v", err)
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{OpSub: "sub", OpUnsub: "unsub", OpPub: "pub", OpPing: "ping", OpUnknown: "unknown", 99: "unknown"} {
		if op.String() != want {
			t.Errorf("Op(%d) = %q, want %q", op, op.String(), want)
		}
	}
}

// TestParseClientMessageAllocs: a typical pub costs one allocation, the
// message's own copy of its strings and data; a ping with no id none.
func TestParseClientMessageAllocs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{`{"op":"pub","ch":"room:1","id":"7","data":{"text":"hi"}}`, 1},
		{"{\"op\":\"pub\",\"ch\":\"room:1\",\"data\": { \"text\" : \"hi\" } }", 1},
		{`{"op":"sub","ch":"room:1","since":5,"epoch":"e.1","id":"s"}`, 1},
		{`{"op":"ping"}`, 0},
	} {
		in := []byte(tc.in)
		var m ClientMessage
		if n := testing.AllocsPerRun(100, func() {
			if err := ParseClientMessage(in, &m); err != nil {
				t.Fatal(err)
			}
		}); n != tc.want {
			t.Errorf("%s: %v allocs/op, want %v", tc.in, n, tc.want)
		}
	}
}

func TestAppenders(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{string(AppendMsg(nil, "room:1", 43, 1795317946582, "", "", []byte(`{"text":"hi"}`))), `{"op":"msg","ch":"room:1","seq":43,"ts":1795317946582,"data":{"text":"hi"}}`},
		{string(AppendMsg(nil, "room:1", 43, 1795317946582, "alice", "", []byte(`1`))), `{"op":"msg","ch":"room:1","seq":43,"ts":1795317946582,"from":"alice","data":1}`},
		{string(AppendMsg(nil, "user:bob", 7, 1795317946582, "alice", "dm:5:alice:bob", []byte(`1`))), `{"op":"msg","ch":"user:bob","seq":7,"ts":1795317946582,"from":"alice","conv":"dm:5:alice:bob","data":1}`},
		{string(AppendOK(nil, "p1", 43)), `{"op":"ok","id":"p1","seq":43}`},
		{string(AppendOK(nil, "", 0)), `{"op":"ok"}`},
		{string(AppendErr(nil, "s1", 409, "already subscribed")), `{"op":"err","id":"s1","code":409,"reason":"already subscribed"}`},
		{string(AppendPong(nil, "x")), `{"op":"pong","id":"x"}`},
		{string(AppendSubReply(nil, &SubReply{ID: "s", Channel: "c", Epoch: []byte("e.1"), Seq: 3, HasSince: true, Recovered: true})),
			`{"op":"sub","id":"s","ch":"c","seq":3,"epoch":"e.1","recovered":true}`},
		{string(AppendJSONString(nil, "a\"\\\n\r\t\x01<>&\u2028\u2029\xff")), `"a\"\\\n\r\t\u0001\u003c\u003e\u0026\u2028\u2029\ufffd"`},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
}

func BenchmarkParseClientMessage(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"pub", `{"op":"pub","ch":"room:1","id":"7","data":{"text":"hi"}}`},
		{"pub-1KiB", `{"op":"pub","ch":"room:1","id":"7","data":{"text":"` + strings.Repeat("hello wörld ", 85) + `"}}`},
		{"sub", `{"op":"sub","ch":"room:1","since":42,"epoch":"dn1f3iqyxhia.1","id":"s1"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			var m ClientMessage
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if err := ParseClientMessage(in, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseErrorsAre400: every error the decoders return is told to the
// client as a 400 with its own reason, through ErrorOf.
func TestParseErrorsAre400(t *testing.T) {
	for _, err := range []error{ErrBadMessage, ErrBadChannel, ErrBadID, ErrUnknownOp, ErrMissingData,
		ErrBadToken, ErrBadIdem, ErrInvalidJSON, ErrInvalidUTF8, ErrTooDeep, ErrNumberRange} {
		e := ErrorOf(err)
		if e.Code != 400 || strings.HasPrefix(e.Reason, "protocol:") || e.Reason == "" || e == ErrInternal {
			t.Errorf("%v: told as %d %q", err, e.Code, e.Reason)
		}
	}
}
