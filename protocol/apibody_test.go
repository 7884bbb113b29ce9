package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAPIPublish(t *testing.T) {
	for _, tc := range []struct {
		in   string
		err  error
		want string // summary on success
	}{
		{in: `{"channel":"a","data":{"x": 1}}`, want: `a|[]||[]|{"x":1}|false||||`},
		{in: ` { "channels" : ["a","b\u0063"] , "users":["u1"], "user":"u2", "data":[1, 2] } `, want: `|[a bc]|u2|[u1]|[1,2]|false||||`},
		{in: `{"channel":"a","data":"s","from":{"user":"bob","client":"web","x":[1]},"idempotency_key":"k","conversation":"g"}`, want: `a|[]||[]|"s"|true|bob|web|k|g`},
		{in: `{"channel":"a","data":1,"from":null,"channels":null,"user":null}`, want: `a|[]||[]|1|false||||`},
		{in: `{"channel":"a","data":1,"unknown":{"deep":[{"x":null}]}}`, want: `a|[]||[]|1|false||||`},
		{in: `{"channel":"a","data":1,"channel":"b"}`, want: `b|[]||[]|1|false||||`}, // the last one wins
		{in: `{"channel":"a"}`, err: ErrMissingData},
		{in: `{"channel":"a","data":null}`, err: ErrMissingData},
		{in: `{"channel":1,"data":1}`, err: ErrBadMessage},
		{in: `{"channels":"a","data":1}`, err: ErrBadMessage},
		{in: `{"channels":["a",1],"data":1}`, err: ErrBadMessage},
		{in: `{"from":"bob","data":1}`, err: ErrBadMessage},
		{in: `{"from":{"user":7},"data":1}`, err: ErrBadMessage},
		{in: `{"channel":"a","data":1}x`, err: ErrBadMessage},
		{in: `{"channel":"a","data":}`, err: ErrBadMessage},
		{in: `[1]`, err: ErrBadMessage},
		{in: ``, err: ErrBadMessage},
		{in: "{\"channel\":\"a\",\"data\":\"\xff\"}", err: ErrInvalidUTF8},
		{in: `{"channel":"a","data":1e999}`, err: ErrNumberRange},
		{in: `{"channel":"a","data":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, err: ErrTooDeep},
		{in: `{"channels":["a","b","c"],"data":1}`, err: ErrBadMessage}, // MaxList 2
	} {
		var p APIPublish
		err := APILimits{MaxDepth: 32, MaxList: 2}.ParseAPIPublish([]byte(tc.in), &p)
		if err != tc.err {
			t.Errorf("%s: err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err == nil {
			if got := publishSummary(&p); got != tc.want {
				t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
			}
		}
	}
}

func TestParseAPIDM(t *testing.T) {
	var m APIDM
	if err := (APILimits{}).ParseAPIDM([]byte(`{"from":"a","to":"b","data":{"t" : "hi"},"idempotency_key":"k"}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.From != "a" || m.To != "b" || string(m.Data) != `{"t":"hi"}` || m.IdempotencyKey != "k" {
		t.Fatalf("%+v", m)
	}
	if err := (APILimits{}).ParseAPIDM([]byte(`{"from":"a","to":["b"],"data":1}`), &m); err != ErrBadMessage {
		t.Fatalf("to as an array: %v", err)
	}
}

func publishSummary(p *APIPublish) string {
	return strings.Join([]string{p.Channel, "[" + strings.Join(p.Channels, " ") + "]", p.User, "[" + strings.Join(p.Users, " ") + "]",
		string(p.Data), map[bool]string{true: "true", false: "false"}[p.HasFrom], p.FromUser, p.FromClient, p.IdempotencyKey, p.Conversation}, "|")
}

// The decoder it replaced: encoding/json into the same struct, then
// AppendCompactJSON on data. Keys are matched exactly by the new decoder
// and case-insensitively by encoding/json, and encoding/json takes
// invalid UTF-8 in strings; inputs where those differences show are left
// out of the comparison.
type refPublish struct {
	Channel  string          `json:"channel"`
	Channels []string        `json:"channels"`
	User     string          `json:"user"`
	Users    []string        `json:"users"`
	Data     json.RawMessage `json:"data"`
	From     *struct {
		User   string `json:"user"`
		Client string `json:"client"`
	} `json:"from"`
	IdempotencyKey string `json:"idempotency_key"`
	Conversation   string `json:"conversation"`
}

// FuzzParseAPIPublish: never a panic; accepted data is compact valid JSON;
// on bodies encoding/json reads the same way, the same outcome.
func FuzzParseAPIPublish(f *testing.F) {
	for _, s := range []string{`{"channel":"a","data":{"x": 1}}`, `{"channels":["a","b"],"users":["u"],"data":[1],"from":{"user":"b"}}`,
		`{"channel":"a","data":null}`, `{"CHANNEL":"a","data":1}`, `{"channel":"a","data":1,"from":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p APIPublish
		err := APILimits{}.ParseAPIPublish(b, &p)
		if err == nil {
			if c, cerr := AppendCompactJSON(nil, p.Data, 0); cerr != nil || !bytes.Equal(c, p.Data) || string(p.Data) == "null" {
				t.Fatalf("data %q is not compact valid non-null JSON (%v)", p.Data, cerr)
			}
		}
		if !utf8.Valid(b) || bytes.ContainsAny(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\\") || bytes.Contains(b, []byte("null")) {
			return // case folding, escapes in keys, invalid UTF-8 and nulls read differently
		}
		var ref refPublish
		rerr := json.Unmarshal(b, &ref)
		if rerr == nil && len(ref.Data) > 0 {
			if _, cerr := AppendCompactJSON(nil, ref.Data, 0); cerr != nil {
				rerr = cerr
			}
		}
		refOK := rerr == nil && len(ref.Data) > 0
		if refOK != (err == nil) {
			t.Fatalf("%q: err %v, encoding/json %v (data %q)", b, err, rerr, ref.Data)
		}
		if err == nil {
			c, _ := AppendCompactJSON(nil, ref.Data, 0)
			hasFrom := ref.From != nil
			if p.Channel != ref.Channel || strings.Join(p.Channels, "\x00") != strings.Join(ref.Channels, "\x00") ||
				p.User != ref.User || strings.Join(p.Users, "\x00") != strings.Join(ref.Users, "\x00") || !bytes.Equal(p.Data, c) ||
				p.HasFrom != hasFrom || p.IdempotencyKey != ref.IdempotencyKey || p.Conversation != ref.Conversation ||
				(hasFrom && (p.FromUser != ref.From.User || p.FromClient != ref.From.Client)) {
				t.Fatalf("%q: %+v, encoding/json %+v", b, p, ref)
			}
		}
	})
}

// BenchmarkParseAPIPublish: the one-pass decoder against what it replaced
// (encoding/json, then AppendCompactJSON on data), on a typical backend
// publish.
func BenchmarkParseAPIPublish(b *testing.B) {
	body := []byte(`{"channel":"room:lobby","data":{"text":"hello, world","from":"alice","ts":1795317946582},"idempotency_key":"k-123","from":{"user":"alice"}}`)
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p APIPublish
			if err := (APILimits{}).ParseAPIPublish(body, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p refPublish
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			if _, err := AppendCompactJSON(nil, p.Data, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
