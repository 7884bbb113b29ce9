//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Helpers of the hostile-client suite: raw sockets that send what no
// library would, the server process's memory from /proc, and the check
// that after an attack the node still serves an ordinary client.

const hostileTimeout = 10 * time.Second

// hostAddr is the server's host:port.
func (s *server) hostAddr() string { return strings.TrimPrefix(s.URL, "http://") }

// rss returns the server process's resident set size in bytes (VmRSS in
// /proc/PID/status): what the kernel holds for it, which is what an
// attack on memory grows and what in-process heap figures would not show.
func (s *server) rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the server's /proc status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// alive fails the test if the server process has exited.
func (s *server) alive(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("the server exited: %v\n%s", s.err, s.log)
	default:
	}
}

var uniqSeq atomic.Int64

// uniqName returns a channel name no other test uses.
func uniqName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, os.Getpid(), uniqSeq.Add(1))
}

// servesOrdinaryClient checks that the node still serves a normal
// subscriber: a WebSocket subscribes, a backend publishes, the message
// arrives.
func servesOrdinaryClient(t *testing.T, s *server) {
	t.Helper()
	s.alive(t)
	ch := uniqName("ordinary")
	c, _, err := websocket.DefaultDialer.Dial("ws://"+s.hostAddr()+"/ws", nil)
	if err != nil {
		t.Fatalf("an ordinary client cannot connect: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(hostileTimeout))
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"sub","ch":"`+ch+`","id":"s"}`)); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || !bytes.Contains(p, []byte(`"op":"sub"`)) {
		t.Fatalf("ordinary client's sub reply: %q %v", p, err)
	}
	if status, body := apiPost(t, s, `{"channel":"`+ch+`","data":"still here"}`); status != 200 {
		t.Fatalf("ordinary publish: %d %s", status, body)
	}
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("ordinary client got no message: %v", err)
		}
		if bytes.Contains(p, []byte(`"op":"epoch"`)) {
			continue
		}
		if !bytes.Contains(p, []byte(`"data":"still here"`)) {
			t.Fatalf("ordinary client got %q", p)
		}
		return
	}
}

// apiPost publishes through the backend API with the suite's key.
func apiPost(t *testing.T, s *server, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/api/publish", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := (&http.Client{Timeout: hostileTimeout}).Do(req)
	if err != nil {
		t.Fatalf("POST /api/publish: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawWS is a WebSocket spoken frame by frame.
type rawWS struct {
	c  net.Conn
	br *bufio.Reader
}

const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dialRawWS opens /ws (or path) and completes the handshake; rcvbuf, when
// positive, shrinks the socket's receive buffer first so that a client
// that stops reading is felt at once.
func dialRawWS(t *testing.T, s *server, path string, rcvbuf int) *rawWS {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.hostAddr(), hostileTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if rcvbuf > 0 {
		_ = c.(*net.TCPConn).SetReadBuffer(rcvbuf)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	r := &rawWS{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	_ = c.SetReadDeadline(time.Now().Add(hostileTimeout))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return r
}

// frame builds one client frame (masked, as RFC 6455 §5.3 requires).
func frame(op byte, fin bool, payload []byte) []byte {
	return frameHeader(op, fin, len(payload), payload)
}

// frameHeader builds a masked frame announcing length bytes, followed by
// the (masked) payload given, which may be shorter: the rest is sent
// later, or never.
func frameHeader(op byte, fin bool, length int, payload []byte) []byte {
	var b []byte
	first := op
	if fin {
		first |= 0x80
	}
	b = append(b, first)
	switch {
	case length < 126:
		b = append(b, 0x80|byte(length))
	case length <= 0xffff:
		b = append(b, 0x80|126, byte(length>>8), byte(length))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(length))
	}
	mask := [4]byte{1, 2, 3, 4}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

// readFrame reads one server frame.
func (r *rawWS) readFrame(deadline time.Duration) (op byte, payload []byte, err error) {
	_ = r.c.SetReadDeadline(time.Now().Add(deadline))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int64(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r.br, payload)
	return h[0] & 0x0f, payload, err
}

// readUntilClose reads frames until a close frame and returns its code;
// it fails the test on any read error first (a reset instead of a close).
func (r *rawWS) readUntilClose(t *testing.T, deadline time.Duration) int {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		op, p, err := r.readFrame(time.Until(end))
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if op == 8 {
			if len(p) < 2 {
				t.Fatalf("close frame without a code: %q", p)
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

// isClosed reports whether err says the peer closed or reset.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(fmt.Sprint(err), "reset") ||
		strings.Contains(fmt.Sprint(err), "broken pipe")
}

// waitFor polls cond until it holds, failing after d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	waitForOrSay(t, what, d, cond, nil)
}

// waitForOrSay is waitFor whose failure also says what detail returns
// (the state that did not come), when detail is not nil.
func waitForOrSay(t *testing.T, what string, d time.Duration, cond func() bool, detail func() string) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			if detail != nil {
				t.Fatalf("timed out waiting for %s: %s", what, detail())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// adminAddr returns a free loopback address for a node's admin listener.
func adminAddr(t *testing.T) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// liveHeap returns the node's heap after a GC (the admin listener's
// pprof runs one for ?gc=1), from its Prometheus metrics.
func liveHeap(t *testing.T, admin string) int64 {
	t.Helper()
	client := &http.Client{Timeout: time.Minute}
	// The admin listener starts after the public port the test waited for.
	var resp *http.Response
	var err error
	waitFor(t, "the admin listener", startTimeout, func() bool {
		resp, err = client.Get("http://" + admin + "/debug/pprof/heap?gc=1")
		return err == nil
	})
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if v, ok := adminMetrics(t, admin)["go_memstats_heap_alloc_bytes"]; ok {
		return int64(v)
	}
	t.Fatal("no go_memstats_heap_alloc_bytes in the admin listener's metrics")
	return 0
}

// adminMetrics returns the node's Prometheus samples by name, a labelled
// family's samples summed.
func adminMetrics(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	samples := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if family, _, labelled := strings.Cut(name, "{"); labelled {
			name = family // labelled samples are summed
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			samples[name] += f
		}
	}
	return samples
}

// memoryReport says where a node's memory is, for a failure message.
func memoryReport(t *testing.T, s *server, admin string) string {
	t.Helper()
	m := adminMetrics(t, admin)
	mb := func(name string) string {
		return fmt.Sprintf("%s %.1f MB", strings.TrimPrefix(name, "go_memstats_"), m[name]/(1<<20))
	}
	return fmt.Sprintf("RSS %.1f MB; %s; %s; %s; %s; %s; %s; gc cycles %v; connections open %v", float64(s.rss(t))/(1<<20),
		mb("go_memstats_heap_alloc_bytes"), mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_heap_idle_bytes"),
		mb("go_memstats_heap_released_bytes"), mb("go_memstats_stack_inuse_bytes"), mb("go_memstats_sys_bytes"),
		m["go_gc_duration_seconds_count"], m["comet_connections"])
}
