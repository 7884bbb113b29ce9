package codec

import (
	"errors"
	"strings"
	"testing"
)

func parseOrFatal(t *testing.T, s string) *Request {
	t.Helper()
	var r Request
	if _, err := ParseRequest([]byte(s), &r, Limits{}); err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	return &r
}

func TestCheckUpgrade(t *testing.T) {
	const base = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
	tests := []struct {
		name, in string
		err      error
	}{
		{"chromium", chromeUpgrade, nil},
		{"minimal", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", nil},
		{"POST", strings.Replace(base, "GET", "POST", 1) + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadUpgrade},
		{"lowercase get", strings.Replace(base, "GET", "get", 1) + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadUpgrade},
		{"HTTP/1.0", "GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadUpgrade},
		{"plain GET", "GET /ws HTTP/1.1\r\nHost: h\r\n\r\n", ErrNotUpgrade},
		{"no connection token", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrNotUpgrade},
		{"h2c upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", ErrNotUpgrade},
		{"no version", base + "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadWSVersion},
		{"version 8", base + "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadWSVersion},
		{"version list", base + "Sec-WebSocket-Version: 13, 8\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadWSVersion},
		{"no key", base + "Sec-WebSocket-Version: 13\r\n\r\n", ErrBadUpgrade},
		{"short key", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P\r\n\r\n", ErrBadUpgrade},
		{"17-byte key", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEBE=\r\n\r\n", ErrBadUpgrade},
		{"bad alphabet", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4*EA==\r\n\r\n", ErrBadUpgrade},
		{"url alphabet", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4_EA==\r\n\r\n", ErrBadUpgrade},
		{"two versions", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadWSVersion},
		{"two keys", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", ErrBadUpgrade},
		{"stray bits", base + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEB==\r\n\r\n", ErrBadUpgrade},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := parseOrFatal(t, tc.in)
			key, err := CheckUpgrade(r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err=%v, want %v", err, tc.err)
			}
			if err == nil && string(key) != string(r.Header("Sec-WebSocket-Key")) {
				t.Fatalf("key %q", key)
			}
		})
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3 example.
	if got := string(AppendAcceptKey([]byte("x:"), []byte("dGhlIHNhbXBsZSBub25jZQ=="))); got != "x:s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AppendAcceptKey = %q", got)
	}
	long := []byte(strings.Repeat("k", 200))
	if len(AppendAcceptKey(nil, long)) != 28 {
		t.Error("long key accept has wrong length")
	}
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if got := string(AppendUpgradeResponse(nil, []byte("dGhlIHNhbXBsZSBub25jZQ=="))); got != want {
		t.Errorf("AppendUpgradeResponse = %q", got)
	}
}
