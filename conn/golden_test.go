package conn

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name.golden, or rewrites the file
// when the test runs with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./conn -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./conn -update rewrites it):\n got %q\nwant %q", path, got, want)
	}
}

// TestGolden holds the exact bytes of the handshake and of an error
// response. The handshake is also checked against RFC 6455 §1.3 here, so
// that -update cannot bless a wrong accept key.
func TestGolden(t *testing.T) {
	t.Run("upgrade_101", func(t *testing.T) {
		hs := newHarness(Limits{})
		hs.feed(t, str(upgradeReq))
		if !bytes.Contains(hs.env.Out, str("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")) {
			t.Fatalf("not the RFC 6455 §1.3 accept key: %q", hs.env.Out)
		}
		golden(t, "upgrade_101", hs.env.Out)
	})
	t.Run("reject_426", func(t *testing.T) {
		hs := newHarness(Limits{})
		hs.feed(t, str(strings.Replace(upgradeReq, "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 1)))
		if hs.c.State() != StateClosed {
			t.Fatalf("state %v", hs.c.State())
		}
		golden(t, "reject_426", hs.env.Out)
	})
	t.Run("reject_431", func(t *testing.T) {
		hs := newHarness(Limits{})
		hs.feed(t, str("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "+strings.Repeat("a", 9000)))
		golden(t, "reject_431", hs.env.Out)
	})
	// A WebSocket exchange after the handshake: the pipelined frames give
	// a pong, an echo, a fragmented echo and the close echo, in order.
	t.Run("ws_session", func(t *testing.T) {
		hs := newHarness(Limits{})
		hs.feed(t, cat(str(upgradeReq), ping("hb"), text("echo:one"),
			frame(false, 0, ws.OpText, "echo:tw"), ping(""), frame(true, 0, ws.OpContinuation, "o"),
			closeCode(1000, "")))
		if hs.c.State() != StateClosed {
			t.Fatalf("state %v", hs.c.State())
		}
		golden(t, "ws_session", hs.env.Out)
	})
	// A chunked POST, pipelined with a keep-alive GET and a closing GET.
	t.Run("chunked_session", func(t *testing.T) {
		hs := newHarness(Limits{})
		hs.feed(t, str(chunkHead+"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"+getHello+
			"GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
		if hs.c.State() != StateClosed {
			t.Fatalf("state %v", hs.c.State())
		}
		golden(t, "chunked_session", hs.env.Out)
	})
}
