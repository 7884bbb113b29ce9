package server

import (
	"testing"

	"github.com/comet-im/comet/conn"
	"github.com/panjf2000/gnet/v2"
)

// faultyConn is a gnet connection whose reads panic, standing in for any
// fault while serving one connection.
type faultyConn struct {
	countingConn
	ctx    any
	closed bool
}

func (c *faultyConn) Context() any             { return c.ctx }
func (c *faultyConn) SetContext(v any)         { c.ctx = v }
func (c *faultyConn) InboundBuffered() int     { return 1 }
func (c *faultyConn) Peek(int) ([]byte, error) { panic("injected fault") }
func (c *faultyConn) Close() error             { c.closed = true; return nil }

// A panic while serving one connection closes that connection, counts a
// panic, and leaves the loop and its other connections serving.
func TestPanicClosesOnlyThatConnection(t *testing.T) {
	l, m := newBenchLoop(t, 3, kindNative) // three healthy subscribers
	bad := &faultyConn{}
	s := newSession(l, bad)
	l.addSession(s)
	bad.ctx = s
	s.Upgrade(&l.env, []byte("dGhlIHNhbXBsZSBub25jZQ==")) // a WebSocket: closing it could write a frame
	l.env.Out = l.env.Out[:0]
	h := &engineHandler{srv: l.srv}

	if action := h.OnTraffic(bad); action != gnet.None {
		t.Fatalf("OnTraffic returned %v after a recovered panic, want None (the close is queued)", action)
	}
	if !bad.closed || s.Reason() != conn.ReasonInternal {
		t.Fatalf("faulty connection: closed=%v reason=%v, want closed with %v", bad.closed, s.Reason(), conn.ReasonInternal)
	}
	if p := l.srv.Stats().Panics; p != 1 {
		t.Fatalf("Panics = %d, want 1", p)
	}
	// Nothing of the faulty connection may wait in the loop's shared
	// output buffer: the next connection served would receive it.
	if len(l.env.Out) != 0 {
		t.Fatalf("%d bytes left in the loop's output buffer: %q", len(l.env.Out), l.env.Out)
	}
	// The loop still delivers to everyone else.
	l.deliver(m)
	for _, other := range l.sessions {
		if other == s {
			continue
		}
		if n := other.gc.(*countingConn).bytes; n != len(m.frame) {
			t.Fatalf("a healthy subscriber got %d bytes, want %d", n, len(m.frame))
		}
	}
}
