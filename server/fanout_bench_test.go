package server

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/memory"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/panjf2000/gnet/v2"
)

// countingConn stands in for a gnet connection in delivery benchmarks: it
// counts the bytes "written", keeps the start of the last write, and has
// nothing queued. Every other gnet.Conn method panics, which proves the
// delivery path calls only these. It is one 64-byte allocation and its
// Write copies without a call: a benchmark measures the fan-out, not its
// stand-in.
type countingConn struct {
	gnet.Conn
	bytes int
	calls int // writes and writevs: system calls on a real socket
	lastN int
	last  [32]byte // the start of the last buffer written
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.bytes += len(p)
	c.calls++
	c.keepLast(p)
	return len(p), nil
}

func (c *countingConn) keepLast(p []byte) {
	if len(p) >= len(c.last) {
		c.last, c.lastN = [len(c.last)]byte(p), len(c.last)
	} else {
		c.lastN = copy(c.last[:], p)
	}
}

func (c *countingConn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	c.bytes += n
	c.calls++
	if len(bs) > 0 {
		c.keepLast(bs[len(bs)-1])
	}
	return n, nil
}
func (c *countingConn) OutboundBuffered() int { return 0 }
func (c *countingConn) InboundBuffered() int  { return 0 }

// newBenchLoop builds a loop with n subscribers of one channel on fake
// connections of the given kind, all at seq 0 of the message's epoch.
func newBenchLoop(tb testing.TB, n int, k kind) (*loop, *message) {
	engine, err := memory.New(memory.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(Config{Broker: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	l := newLoop(srv, 0, nil)
	srv.loops.Store(&[]*loop{l})
	m := messageOf(&broker.Publication{Channel: "bench", Epoch: "e.1", Seq: 1, Time: 1795317946582,
		Data: []byte(`{"text":"hello, world","from":"bench"}`)})
	for i := 0; i < n; i++ {
		s := &session{gc: &countingConn{}, loop: l, kind: k}
		s.timer.Owner = s
		if k != kindNative {
			s.http = &httpState{callback: "__comet1_1_1"}
		}
		l.addSession(s)
		j, _, _ := l.subscribe(s, "bench")
		s.subs[j].epoch = "e.1"
	}
	return l, m
}

// BenchmarkDeliver measures the per-loop fan-out: one message written to
// 1,000 local subscribers. allocs/op must be 0 in steady state.
func BenchmarkDeliver(b *testing.B) {
	for _, tc := range []struct {
		name string
		kind kind
	}{{"ws", kindNative}, {"sse", kindSSE}, {"stream", kindStream}, {"iframe", kindIframe}} {
		b.Run(tc.name, func(b *testing.B) {
			const subs = 1000
			l, m := newBenchLoop(b, subs, tc.kind)
			l.deliver(m) // build the lazy HTTP formats once
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.pub.Seq++ // every subscriber's next message
				l.deliver(m)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
		})
	}
}

// TestDeliverAllocatesNothing pins the zero-allocation promise of the
// fan-out in a test, not only in a benchmark.
func TestDeliverAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; make test runs this test again without -race")
	}
	for _, kind := range []kind{kindNative, kindSSE, kindStream, kindIframe} {
		l, m := newBenchLoop(t, 100, kind)
		l.deliver(m)
		allocs := testing.AllocsPerRun(100, func() {
			m.pub.Seq++
			l.deliver(m)
		})
		if allocs != 0 {
			t.Errorf("kind %d: %.1f allocations per fan-out to 100 subscribers, want 0", kind, allocs)
		}
	}
}

// BenchmarkPublishEndToEnd publishes to 200 real WebSocket subscribers on
// loopback and waits until each has read the message: the whole path,
// syscalls included. Figures are for comparisons in one run only.
func BenchmarkPublishEndToEnd(b *testing.B) {
	const subs = 200
	srv := startServer(b, Config{Loops: 2, MaxOutboundBytes: 64 << 20})
	done := make(chan int, subs)
	for i := 0; i < subs; i++ {
		c, _, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr()+"/ws")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		_ = wsutil.WriteClientText(c, []byte(`{"op":"sub","ch":"e2e"}`))
		if _, err := wsutil.ReadServerText(c); err != nil {
			b.Fatal(err)
		}
		go func() {
			for {
				if _, err := readServerMsg(c); err != nil {
					return
				}
				done <- 1
			}
		}()
	}
	payload := []byte(`{"text":"hello"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := srv.Publish("e2e", payload); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < subs; j++ {
			<-done
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
}
