package codec

import "testing"

func TestStatusText(t *testing.T) {
	for _, c := range []int{101, 200, 204, 304, 400, 401, 403, 404, 405, 408, 411, 413, 414, 426, 429, 431, 500, 501, 503, 505} {
		if StatusText(c) == "" {
			t.Errorf("StatusText(%d) empty", c)
		}
	}
	if StatusText(299) != "" {
		t.Error("StatusText(299) not empty")
	}
}

func TestAppendStatusLine(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{200, "HTTP/1.1 200 OK\r\n"},
		{431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{299, "HTTP/1.1 299 \r\n"},
		{42, "HTTP/1.1 500 Internal Server Error\r\n"},
		{1000, "HTTP/1.1 500 Internal Server Error\r\n"},
	}
	for _, tc := range tests {
		if got := string(AppendStatusLine(nil, tc.code)); got != tc.want {
			t.Errorf("%d: %q, want %q", tc.code, got, tc.want)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	if got := string(AppendHeader(nil, "X-A", "b")); got != "X-A: b\r\n" {
		t.Errorf("%q", got)
	}
	if got := string(AppendHeader(nil, "X-A\r\n", "b\r\nSet-Cookie: x")); got != "X-A  : b  Set-Cookie: x\r\n" {
		t.Errorf("injection not neutralised: %q", got)
	}
	if got := string(AppendHeaderInt([]byte("p"), "Content-Length", -12)); got != "pContent-Length: -12\r\n" {
		t.Errorf("%q", got)
	}
}

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		ct        string
		extra     string
		body      string
		keepAlive bool
		want      string
	}{
		{"json keep-alive", 200, "application/json", "", `{"a":1}`, true,
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n{\"a\":1}"},
		{"error close", 400, "", "", "", false,
			"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"},
		{"extra", 426, "text/plain", "Sec-WebSocket-Version: 13\r\n", "upgrade", true,
			"HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nSec-WebSocket-Version: 13\r\n\r\nupgrade"},
		{"own cache-control", 200, "text/javascript", "Vary: Origin\r\nCache-Control: public, max-age=31536000, immutable\r\n", "x", true,
			"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nContent-Length: 1\r\nX-Content-Type-Options: nosniff\r\nVary: Origin\r\nCache-Control: public, max-age=31536000, immutable\r\n\r\nx"},
		{"204 no body", 204, "", "", "dropped", true,
			"HTTP/1.1 204 No Content\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"},
		{"304 no body", 304, "", "", "dropped", false,
			"HTTP/1.1 304 Not Modified\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"},
	}
	for _, tc := range tests {
		var extra []byte
		if tc.extra != "" {
			extra = []byte(tc.extra)
		}
		if got := string(AppendResponse(nil, tc.code, tc.ct, extra, []byte(tc.body), tc.keepAlive)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
