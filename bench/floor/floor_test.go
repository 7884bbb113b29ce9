package floor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func start(t *testing.T) *Server {
	t.Helper()
	s := New("k")
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// client is a raw WebSocket subscriber with a deadline on every read.
type client struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
}

// subscribe dials a subscriber; rcvbuf > 0 sets its socket's receive
// buffer, so that a test can fill it quickly.
func subscribe(t *testing.T, s *Server, ch string, rcvbuf int) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil && rcvbuf > 0 {
			err = c.(*net.TCPConn).SetReadBuffer(rcvbuf)
		}
		return c, err
	}}
	conn, br, _, err := d.Dial(ctx, "ws://"+s.Addr()+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, rd: bufio.NewReader(conn)}
	if br != nil {
		c.rd = br
	}
	if err := wsutil.WriteClientText(conn, fmt.Appendf(nil, `{"op":"sub","ch":%q,"id":"s1"}`, ch)); err != nil {
		t.Fatal(err)
	}
	reply := c.next()
	if reply["op"] != "sub" || reply["id"] != "s1" || reply["ch"] != ch {
		t.Fatalf("sub reply %v", reply)
	}
	return c
}

// next reads one server frame as a JSON object.
func (c *client) next() map[string]any {
	c.t.Helper()
	var m map[string]any
	if p := c.frame(); json.Unmarshal(p, &m) != nil {
		c.t.Fatalf("not JSON: %.200s", p)
	}
	return m
}

// frame reads one server frame's payload.
func (c *client) frame() []byte {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, err := ws.ReadHeader(c.rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if h.Masked || !h.Fin || h.OpCode != ws.OpText {
		c.t.Fatalf("frame header %+v", h)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.rd, p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func publish(t *testing.T, s *Server, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/api/publish", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProtocol(t *testing.T) {
	s := start(t)
	a, b := subscribe(t, s, "room", 0), subscribe(t, s, "room", 0)
	other := subscribe(t, s, "other", 0)
	for i := 1; i <= 3; i++ {
		status, body := publish(t, s, "k", fmt.Sprintf(`{"channel":"room","data":{"n":%d}}`, i))
		if status != 200 || body != fmt.Sprintf(`{"seq":%d}`, i) {
			t.Fatalf("publish %d: %d %s", i, status, body)
		}
	}
	for _, c := range []*client{a, b} {
		for i := 1; i <= 3; i++ {
			m := c.next()
			data, _ := m["data"].(map[string]any)
			if m["op"] != "msg" || m["ch"] != "room" || m["seq"] != float64(i) || m["ts"] == nil || data["n"] != float64(i) {
				t.Fatalf("message %d: %v", i, m)
			}
		}
	}
	if status, body := publish(t, s, "k", `{"channel":"other","data":"x"}`); status != 200 || body != `{"seq":1}` {
		t.Fatalf("other channel: %d %s", status, body)
	}
	if m := other.next(); m["seq"] != float64(1) || m["data"] != "x" {
		t.Fatalf("other channel got %v", m)
	}
	if status, _ := publish(t, s, "wrong", `{"channel":"room","data":1}`); status != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", status)
	}
	if status, _ := publish(t, s, "k", `{"channel":"room"}`); status != http.StatusBadRequest {
		t.Fatalf("no data: %d", status)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := s.Stats().Subscribers; got != 3 {
		t.Fatalf("%d subscribers, want 3", got)
	}
}

// TestBacklogKeepsOrder publishes far more than the socket buffers hold to
// a subscriber that is not reading, then reads: every message must arrive,
// in order, and the floor must have queued some (so the backlog path ran).
func TestBacklogKeepsOrder(t *testing.T) {
	s := start(t)
	c := subscribe(t, s, "slow", 128<<10)
	pad := strings.Repeat("x", 256<<10)
	const n = 24 // 6 MiB, more than the buffers of this socket pair hold
	for i := 1; i <= n; i++ {
		if status, body := publish(t, s, "k", `{"channel":"slow","data":"`+pad+`"}`); status != 200 {
			t.Fatalf("publish %d: %d %s", i, status, body)
		}
	}
	for i := 1; i <= n; i++ {
		p := c.frame()
		if want := fmt.Sprintf(`"seq":%d,`, i); !bytes.Contains(p, []byte(want)) || !bytes.HasSuffix(p, []byte(pad+`"}`)) {
			t.Fatalf("message %d: %.60s…", i, p)
		}
	}
	if st := s.Stats(); st.Blocked == 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v: want some blocked writes and no drop", st)
	}
}

// TestClosedSubscriberIsDropped: a subscriber that went away is closed on
// the writes that fail, and the others still get every message.
func TestClosedSubscriberIsDropped(t *testing.T) {
	s := start(t)
	stay, gone := subscribe(t, s, "r", 0), subscribe(t, s, "r", 0)
	gone.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; s.Stats().Dropped == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("closed subscriber never dropped: %+v", s.Stats())
		}
		if status, _ := publish(t, s, "k", fmt.Sprintf(`{"channel":"r","data":%d}`, i)); status != 200 {
			t.Fatal(status)
		}
		if m := stay.next(); m["seq"] != float64(i) {
			t.Fatalf("message %d: %v", i, m)
		}
	}
}

func TestAppendFrame(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte{'a'}, n)
		f, err := ws.ReadFrame(bytes.NewReader(appendFrame(nil, p)))
		if err != nil || !f.Header.Fin || f.Header.OpCode != ws.OpText || f.Header.Masked || !bytes.Equal(f.Payload, p) {
			t.Fatalf("%d bytes: %+v %v", n, f.Header, err)
		}
	}
}
