package server

import (
	"testing"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/protocol"
)

func TestParsePositions(t *testing.T) {
	cases := []struct {
		query, lastEventID string
		limit              int // 0: 3
		want               []protocol.Requested
		err                bool
	}{
		{query: "ch=a&ch=b", want: []protocol.Requested{{Channel: []byte("a")}, {Channel: []byte("b")}}},
		{query: "ch=a~e.1~42", want: []protocol.Requested{{Channel: []byte("a"), Epoch: []byte("e.1"), Seq: 42, HasSince: true}}},
		{query: "ch=a~~7", want: []protocol.Requested{{Channel: []byte("a"), Epoch: []byte{}, Seq: 7, HasSince: true}}},
		{query: "cursor=a~e.1~1!b~e.2~2&ch=a&ch=c", want: []protocol.Requested{
			{Channel: []byte("a"), Epoch: []byte("e.1"), Seq: 1, HasSince: true},
			{Channel: []byte("b"), Epoch: []byte("e.2"), Seq: 2, HasSince: true},
			{Channel: []byte("c")}}},
		{lastEventID: "a~e.1~5", query: "ch=b", want: []protocol.Requested{
			{Channel: []byte("a"), Epoch: []byte("e.1"), Seq: 5, HasSince: true}, {Channel: []byte("b")}}},
		{query: "ch=room%3A1", want: []protocol.Requested{{Channel: []byte("room:1")}}},
		{query: "ch=bad%20name", err: true},
		{query: "ch=a~E~1", err: true}, // epochs are lower case
		{query: "ch=a~e~x", err: true}, // seq not a number
		{query: "ch=a~e", err: true},   // missing seq
		{query: "ch=a&ch=b&ch=c", limit: 2, err: true},
	}
	for _, tc := range cases {
		limit := tc.limit
		if limit == 0 {
			limit = 3
		}
		got, err := parsePositions(nil, &codec.Request{RawQuery: []byte(tc.query)}, []byte(tc.lastEventID), limit)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v, want error %v", tc.query, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %d positions, want %d", tc.query, len(got), len(tc.want))
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			if string(g.Channel) != string(w.Channel) || string(g.Epoch) != string(w.Epoch) || g.Seq != w.Seq || g.HasSince != w.HasSince {
				t.Errorf("%q: position %d = %+v, want %+v", tc.query, i, g, w)
			}
		}
	}
}

// FuzzParsePositions: never panics, never returns more than the limit,
// and every position it returns names a valid channel.
func FuzzParsePositions(f *testing.F) {
	f.Add("ch=a&cursor=b~e.1~2!c~~3", "d~e.2~9")
	f.Add("ch=%zz&ch=a~~", "")
	f.Add("cursor=!!~~!&ch=+", "~")
	f.Fuzz(func(t *testing.T, query, lastEventID string) {
		got, err := parsePositions(nil, &codec.Request{RawQuery: []byte(query)}, []byte(lastEventID), 4)
		if len(got) > 4 {
			t.Fatalf("%d positions over the limit", len(got))
		}
		if err != nil {
			return
		}
		for _, p := range got {
			if !protocol.ValidChannel(p.Channel) || (p.HasSince && !protocol.ValidEpoch(p.Epoch)) {
				t.Fatalf("invalid position %+v", p)
			}
		}
	})
}
