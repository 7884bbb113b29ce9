package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"
)

// countingConn counts what a raw client reads and writes.
type wireConn struct {
	net.Conn
	mu       sync.Mutex
	in, out  int64
	received bytes.Buffer
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in += int64(n)
	c.received.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *wireConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.out += int64(n)
	c.mu.Unlock()
	return n, err
}

// readUntil reads until the bytes received hold want n times.
func (c *wireConn) readUntil(t *testing.T, want string, n int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(readTimeout))
	buf := make([]byte, 4096)
	for {
		c.mu.Lock()
		got := strings.Count(c.received.String(), want)
		c.mu.Unlock()
		if got >= n {
			return
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("waiting for %d × %q: %v; got %q", n, want, err, c.received.String())
		}
	}
}

func (c *wireConn) counts() (in, out int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in, c.out
}

// Stats.BytesOut and BytesIn are what the socket carried, byte for byte,
// on every transport: heads, replies, frames and the fan-out's shared and
// per-subscriber bytes (the SSE id line, the iframe callback).
func TestBytesOutMatchesTheWire(t *testing.T) {
	for _, tc := range []struct {
		name, request string
		ws            bool
	}{
		{"ws", "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", true},
		{"sse", "GET /sse?ch=wire HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"stream", "GET /stream?ch=wire HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"iframe", "GET /iframe?cb=__comet1_2&ch=wire HTTP/1.1\r\nHost: x\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, Config{Loops: 1})
			in0, out0 := srv.Stats().BytesIn, srv.Stats().BytesOut
			raw, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			c := &wireConn{Conn: raw}
			if _, err := io.WriteString(c, tc.request); err != nil {
				t.Fatal(err)
			}
			if tc.ws {
				c.readUntil(t, "\r\n\r\n", 1)
				if err := wsutil.WriteClientText(c, []byte(`{"op":"sub","ch":"wire","id":"1"}`)); err != nil {
					t.Fatal(err)
				}
				c.readUntil(t, `"op":"sub"`, 1)
			} else {
				c.readUntil(t, `"op":"open"`, 1)
			}
			const n = 5
			for i := 0; i < n; i++ {
				if _, err := srv.Publish("wire", []byte(fmt.Sprintf(`{"i":%d,"pad":"<&>"}`, i))); err != nil {
					t.Fatal(err)
				}
			}
			c.readUntil(t, `"op":"msg"`, n)
			waitUntil(t, "the counts to match the wire", func() bool {
				in, out := c.counts()
				st := srv.Stats()
				return st.BytesOut-out0 == in && st.BytesIn-in0 == out
			})
		})
	}
}

// Subscriptions and channels follow joins and leaves; TopChannels ranks
// channels by subscribers over every loop.
func TestSubscriptionStatsAndTopChannels(t *testing.T) {
	srv := startServer(t, Config{Loops: 2})
	var clients []*wsClient
	for ch, n := range map[string]int{"top:a": 3, "top:b": 2, "top:c": 1} {
		for range n {
			c := dialWS(t, srv.Addr())
			c.subscribe(ch)
			clients = append(clients, c)
		}
	}
	st := srv.Stats()
	if st.Subscriptions != 6 || st.Channels != 3 {
		t.Fatalf("subscriptions %d, channels %d; want 6 and 3", st.Subscriptions, st.Channels)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	top, err := srv.TopChannels(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(top) != "[{top:a 3} {top:b 2}]" {
		t.Fatalf("top channels %v", top)
	}
	if _, err := srv.TopChannels(ctx, 0); err == nil {
		t.Fatal("n = 0 accepted")
	}
	for _, c := range clients {
		c.c.Close()
	}
	waitUntil(t, "the subscriptions to go", func() bool {
		st := srv.Stats()
		return st.Subscriptions == 0 && st.Channels == 0 && st.LingeringChannels == 3 && st.Connections == 0
	})
	st = srv.Stats()
	if st.ClosedBy["ws"]["peer closed"]+st.ClosedBy["ws"]["normal"] != 6 {
		t.Fatalf("closes by transport: %v", st.ClosedBy)
	}
}

// Publishes and joins are timed into their histograms.
func TestLatencyHistograms(t *testing.T) {
	srv := startServer(t, Config{})
	c := dialWS(t, srv.Addr())
	c.subscribe("lat")
	for i := 0; i < 4; i++ {
		if _, err := srv.Publish("lat", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	lat := srv.Stats().Latency
	pub, join := lat["publish"], lat["join"]
	if pub.Count != 4 || join.Count != 1 {
		t.Fatalf("publish %d, join %d; want 4 and 1", pub.Count, join.Count)
	}
	last := pub.Cumulative[len(pub.Cumulative)-1]
	for i := 1; i < len(pub.Cumulative); i++ {
		if pub.Cumulative[i] < pub.Cumulative[i-1] {
			t.Fatalf("buckets not cumulative: %v", pub.Cumulative)
		}
	}
	if last != pub.Count || pub.Sum <= 0 {
		t.Fatalf("the last bucket %d, count %d, sum %v", last, pub.Count, pub.Sum)
	}
}

// At debug every connection logs one line when it opens and one when it
// closes, and no payload ever reaches the log.
func TestConnectionEventsLogged(t *testing.T) {
	var buf syncBuf
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := startServer(t, Config{Logger: log})
	c := dialWS(t, srv.Addr())
	c.subscribe("logs")
	c.send(`{"op":"pub","ch":"logs","data":"payload-marker-7f3a","id":"p"}`)
	c.expect(map[string]any{"op": "ok"})
	c.c.Close()
	waitUntil(t, "the close line", func() bool { return strings.Contains(buf.String(), `msg="connection closed"`) })
	out := buf.String()
	if n := strings.Count(out, `msg="connection opened"`); n != 1 {
		t.Errorf("%d open lines:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="connection closed"`); n != 1 {
		t.Errorf("%d close lines:\n%s", n, out)
	}
	if !strings.Contains(out, "transport=ws") {
		t.Errorf("the close line does not name the transport:\n%s", out)
	}
	if strings.Contains(out, "payload-marker") {
		t.Errorf("a payload reached the log:\n%s", out)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
