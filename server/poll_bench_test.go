package server

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/conn"
)

// pollFixture is one keep-alive HTTP session and a channel with history.
type pollFixture struct {
	l *loop
	s *session
}

func newPollFixture(tb testing.TB) *pollFixture {
	l, _ := newBenchLoop(tb, 0, kindNative)
	for i := 1; i <= 10; i++ {
		if _, err := l.srv.Publish("bench", []byte(strconv.Itoa(i))); err != nil {
			tb.Fatal(err)
		}
	}
	s := &session{gc: &countingConn{}, loop: l}
	s.timer.Owner = s
	l.addSession(s)
	return &pollFixture{l: l, s: s}
}

// request feeds one complete request and checks a 200 came back.
func (f *pollFixture) request(tb testing.TB, req []byte) {
	env := &f.l.env
	env.Out = env.Out[:0]
	gc := f.s.gc.(*countingConn)
	gc.lastN = 0
	f.l.feeding = f.s
	n := f.s.Feed(env, f.s, req)
	f.l.feeding = nil
	f.l.flush(f.s)
	if n != len(req) || f.s.State() != conn.StateHead {
		tb.Fatalf("consumed %d of %d, state %v", n, len(req), f.s.State())
	}
	if !bytes.HasPrefix(gc.last[:gc.lastN], []byte("HTTP/1.1 200 ")) {
		tb.Fatalf("answer %.64q", gc.last[:gc.lastN])
	}
}

// BenchmarkPollRequest measures a keep-alive short poll through the whole
// server path (parse, route, positions, history, answer): "empty" is a
// client that is up to date, "one" gets one message.
func BenchmarkPollRequest(b *testing.B) {
	for _, tc := range []struct {
		name  string
		since uint64
	}{{"empty", 10}, {"one", 9}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newPollFixture(b)
			req := f.pollRequestFor(b, tc.since)
			f.request(b, req)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.request(b, req)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// pollRequestFor builds the request with the channel's real epoch.
func (f *pollFixture) pollRequestFor(tb testing.TB, since uint64) []byte {
	_, st, err := f.l.srv.conf().Broker.History(context.Background(), "bench", broker.HistoryOptions{}, nil)
	if err != nil || st.Epoch == "" {
		tb.Fatal("no channel")
	}
	pos := "bench~" + st.Epoch + "~" + strconv.FormatUint(since, 10)
	return []byte("GET /poll?wait=0&cursor=" + pos + " HTTP/1.1\r\nHost: comet\r\n\r\n")
}

// TestPollAllocatesNothing pins the zero-allocation promise of the steady
// state short poll: request parsing, positions, history and the answer.
func TestPollAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; make test runs this test again without -race")
	}
	for _, since := range []uint64{10, 9} {
		f := newPollFixture(t)
		req := f.pollRequestFor(t, since)
		f.request(t, req)
		if allocs := testing.AllocsPerRun(100, func() { f.request(t, req) }); allocs != 0 {
			t.Errorf("since %d: %.1f allocations per poll, want 0", since, allocs)
		}
	}
}
