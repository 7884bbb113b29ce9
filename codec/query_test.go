package codec

import (
	"errors"
	"testing"
)

func TestNextQueryPair(t *testing.T) {
	type kv struct{ k, v string }
	tests := []struct {
		in   string
		want []kv
	}{
		{"", nil},
		{"&&&", nil},
		{"a=1", []kv{{"a", "1"}}},
		{"a=1&b=2", []kv{{"a", "1"}, {"b", "2"}}},
		{"&a=1&&b&=x&c=d=e&", []kv{{"a", "1"}, {"b", ""}, {"", "x"}, {"c", "d=e"}}},
		{"x%20y=a+b", []kv{{"x%20y", "a+b"}}},
	}
	for _, tc := range tests {
		var got []kv
		for k, v, rest := NextQueryPair([]byte(tc.in)); rest != nil; k, v, rest = NextQueryPair(rest) {
			if k == nil {
				t.Fatalf("%q: nil key with non-nil rest", tc.in)
			}
			got = append(got, kv{string(k), string(v)})
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%q: got %v, want %v", tc.in, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: pair %d = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
	if k, v, rest := NextQueryPair(nil); k != nil || v != nil || rest != nil {
		t.Error("NextQueryPair(nil) not all nil")
	}
}

func TestAppendUnescape(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"", "", nil},
		{"abc", "abc", nil},
		{"a+b", "a b", nil},
		{"%41%62%2f%2F%00", "Ab//\x00", nil},
		{"%e4%BD%a0", "\xe4\xbd\xa0", nil},
		{"%", "", ErrBadRequest},
		{"%4", "", ErrBadRequest},
		{"ab%4", "", ErrBadRequest},
		{"%zz", "", ErrBadRequest},
		{"%4g", "", ErrBadRequest},
	}
	for _, tc := range tests {
		got, err := AppendUnescape([]byte("pre:"), []byte(tc.in))
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err=%v, want %v", tc.in, err, tc.err)
			continue
		}
		want := "pre:" + tc.want
		if string(got) != want {
			t.Errorf("%q: got %q, want %q", tc.in, got, want)
		}
	}
}

func TestQueryValue(t *testing.T) {
	tests := []struct {
		q, key, want string
		ok           bool
		err          error
	}{
		{"token=abc%20def&v=2", "token", "abc def", true, nil},
		{"token=abc%20def&v=2", "v", "2", true, nil},
		{"token=abc%20def&v=2", "x", "", false, nil},
		{"a=1&a=2", "a", "1", true, nil},
		{"my+key=v&my%20key=w", "my key", "v", true, nil},
		{"flag&x=1", "flag", "", true, nil},
		{"ab=1", "a", "", false, nil},
		{"a=1", "ab", "", false, nil},
		{"", "a", "", false, nil},
		{"a=%zz", "a", "", false, ErrBadRequest},
		{"b=%zz&a=1", "a", "1", true, nil},
		{"%zz=1&a=1", "a", "", false, ErrBadRequest},
	}
	for _, tc := range tests {
		dst := make([]byte, 0, 64)
		got, ok, err := QueryValue(dst, []byte(tc.q), tc.key)
		if string(got) != tc.want || ok != tc.ok || !errors.Is(err, tc.err) {
			t.Errorf("QueryValue(%q, %q) = %q %v %v, want %q %v %v", tc.q, tc.key, got, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}

// Request.QueryValue answers as QueryValue does, from pairs split once
// per request; a reused Request splits the next request's query afresh.
func TestRequestQuery(t *testing.T) {
	var r Request
	for _, q := range []string{"a=1&b=%32&&c", "b=x&a=%zz", "", "a=3", "%61=4&a+b=5&c=x+y", "%zz=1&a=2"} {
		head := "GET /p?" + q + " HTTP/1.1\r\nHost: x\r\n\r\n"
		if _, err := ParseRequest([]byte(head), &r, Limits{}); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"a", "b", "c", "d", "a b"} {
			want, wok, werr := QueryValue(nil, []byte(q), key)
			got, ok, err := r.QueryValue(nil, key)
			if string(got) != string(want) || ok != wok || err != werr {
				t.Errorf("%q %q: %q %v %v, QueryValue %q %v %v", q, key, got, ok, err, want, wok, werr)
			}
		}
		n := 0
		for k, _, rest := NextQueryPair([]byte(q)); rest != nil && k != nil; k, _, rest = NextQueryPair(rest) {
			n++
		}
		if len(r.Query()) != n {
			t.Errorf("%q: %d pairs, want %d", q, len(r.Query()), n)
		}
	}
}
