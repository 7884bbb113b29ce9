package inbox

import (
	"bytes"
	"testing"
)

// FuzzKeys checks every composite key encoding round-trips, and that
// byte order is seq order within one conversation and time order in the
// expiry index, the two orders the store's range scans rely on.
func FuzzKeys(f *testing.F) {
	f.Add("room:1", "alice", "bob", "k1", uint64(1), uint64(2), int64(0), int64(1))
	f.Add("", "", "", "", uint64(0), uint64(1<<63), int64(-1), int64(1<<62))
	f.Add("a", "b", "c", "d", uint64(255), uint64(256), int64(-1<<63), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, conv, user, from, key string, s1, s2 uint64, t1, t2 int64) {
		for _, s := range []*string{&conv, &user, &from, &key} {
			if len(*s) > 255 {
				*s = (*s)[:255]
			}
		}
		k1 := appendConvIndexKey(nil, conv, s1)
		c, seq, ok := parseConvIndexKey(k1)
		if !ok || string(c) != conv || seq != s1 {
			t.Fatalf("conv index key %q: %q %d %v", k1, c, seq, ok)
		}
		if !bytes.HasPrefix(k1, appendConvIndexPrefix(nil, conv)) {
			t.Fatalf("conv index key %q lacks its prefix", k1)
		}
		k2 := appendConvIndexKey(nil, conv, s2)
		if cmp := bytes.Compare(k1, k2); cmp != compare(s1, s2) {
			t.Fatalf("seqs %d, %d order as %d", s1, s2, cmp)
		}
		// Another conversation's keys never fall inside this one's range.
		if other := conv + "x"; len(other) <= 255 {
			if bytes.HasPrefix(appendConvIndexKey(nil, other, s1), appendConvIndexPrefix(nil, conv)) {
				t.Fatalf("conversation %q's keys share %q's prefix", other, conv)
			}
		}

		ik := appendIdemKey(nil, from, key)
		gf, gk, ok := parseIdemKey(ik)
		if !ok || string(gf) != from || string(gk) != key {
			t.Fatalf("idem key %q: %q %q %v", ik, gf, gk, ok)
		}

		e1 := appendExpiryKey(nil, t1, user, from, key)
		at, gu, gi, ok := parseExpiryKey(e1)
		if !ok || at != t1 || string(gu) != user || !bytes.Equal(gi, ik) {
			t.Fatalf("expiry key %q: %d %q %q %v", e1, at, gu, gi, ok)
		}
		e2 := appendExpiryKey(nil, t2, user, from, key)
		if t1 != t2 && bytes.Compare(e1, e2) != compare(t1, t2) {
			t.Fatalf("times %d, %d order wrongly", t1, t2)
		}

		sk := appendSeqKey(nil, s1)
		if got, ok := parseSeqKey(sk); !ok || got != s1 {
			t.Fatalf("seq key %x: %d", sk, got)
		}
		if bytes.Compare(sk, appendSeqKey(nil, s2)) != compare(s1, s2) {
			t.Fatalf("seq keys %d, %d order wrongly", s1, s2)
		}

		// Parsers take any bytes without panicking.
		parseConvIndexKey([]byte(conv))
		parseIdemKey([]byte(key))
		parseExpiryKey([]byte(user + from))
	})
}

// FuzzEntry checks the entry record round-trips, and that decoding any
// bytes fails cleanly or yields fields within the input.
func FuzzEntry(f *testing.F) {
	f.Add(int64(1), "room:1", "bob", "phone", "k", []byte(`{"a":1}`), []byte{1, 2, 3})
	f.Add(int64(-1), "", "", "", "", []byte{}, encodeEntry(5, &Message{Conversation: "c", Payload: []byte("1")}))
	f.Fuzz(func(t *testing.T, now int64, conv, from, dev, key string, payload, raw []byte) {
		for _, s := range []*string{&conv, &from, &dev, &key} {
			if len(*s) > 255 {
				*s = (*s)[:255]
			}
		}
		m := Message{Conversation: conv, From: from, FromDevice: dev, Key: key, Payload: payload}
		b := encodeEntry(now, &m)
		if len(b) != entrySize(&m) {
			t.Fatalf("entry of %d bytes, size says %d", len(b), entrySize(&m))
		}
		v, err := decodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		e := v.entry(9)
		if e.Seq != 9 || e.Time.UnixNano() != now || e.Conversation != conv || e.From != from ||
			e.FromDevice != dev || e.Key != key || !bytes.Equal(e.Payload, payload) {
			t.Fatalf("round trip: %+v from %+v", e, m)
		}
		if v, err := decodeEntry(raw); err == nil {
			if len(v.conv)+len(v.from)+len(v.fromDevice)+len(v.key)+len(v.payload)+entryHeader != len(raw) {
				t.Fatalf("decoded %q into fields that do not add up", raw)
			}
			v.entry(1)
		}
	})
}

func compare[T uint64 | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
