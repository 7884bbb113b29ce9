package main

import (
	"strings"
	"testing"
)

// FuzzParseConfig: no file makes the loader panic; what it accepts has a
// line for every key, and setting it on a key set either works or fails
// with an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		"addr: 127.0.0.1:8080\n",
		"drain:\n  window: 30s\n  delay: 5s\n",
		"allowed-origins: [a, b]\nredis: {addrs: [x:1]}\n",
		"a: &x 1\nb: *x\n",
		"- 1\n",
		"k: [[1]]\n",
		"? [a]\n: b\n",
		"",
		"---\n...\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > maxConfigBytes {
			return
		}
		vals, err := parseConfig([]byte(body))
		if err != nil {
			return
		}
		ks := newOptions().keys
		for name, v := range vals {
			if v.line <= 0 {
				t.Fatalf("key %q without a line", name)
			}
			if strings.HasPrefix(name, "-") {
				t.Fatalf("key %q", name)
			}
			_ = ks.setFromFile(name, v)
		}
	})
}
