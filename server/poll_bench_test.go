package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/memory"
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

// parkedPolls is a loop with n keep-alive HTTP sessions, each with a
// long-poll parked on channel "bench" at the channel's top.
type parkedPolls struct {
	l      *loop
	el     *taskLoop
	engine *countingEngine
	epoch  string
	seq    uint64 // the channel's top, where every poll stands
}

func newParkedPolls(tb testing.TB, n int) *parkedPolls {
	b, err := memory.New(memory.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	engine := &countingEngine{Broker: b}
	srv, err := New(Config{Broker: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	if err := engine.Start(srv); err != nil { // deliver publications to the loop
		tb.Fatal(err)
	}
	el := &taskLoop{}
	l := newLoop(srv, 0, el)
	srv.loops.Store(&[]*loop{l})
	for i := 1; i <= 10; i++ {
		if _, err := srv.Publish("bench", []byte(strconv.Itoa(i))); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		s := &session{gc: &countingConn{}, loop: l}
		s.timer.Owner = s
		l.addSession(s)
	}
	_, st, err := b.History(context.Background(), "bench", broker.HistoryOptions{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	p := &parkedPolls{l: l, el: el, engine: engine, epoch: st.Epoch, seq: st.Top}
	p.park(tb)
	return p
}

// countingEngine is the memory engine (inline) counting its reads.
type countingEngine struct {
	*memory.Broker
	reads atomic.Int64
}

func (e *countingEngine) History(ctx context.Context, ch string, o broker.HistoryOptions, dst []*broker.Publication) ([]*broker.Publication, broker.StreamState, error) {
	e.reads.Add(1)
	return e.Broker.History(ctx, ch, o, dst)
}

// park feeds every session a long-poll from the channel's top; each
// parks.
func (p *parkedPolls) park(tb testing.TB) {
	l := p.l
	req := []byte("GET /poll?wait=25&cursor=bench~" + p.epoch + "~" + strconv.FormatUint(p.seq, 10) + " HTTP/1.1\r\nHost: comet\r\n\r\n")
	for _, s := range l.sessions {
		l.feeding = s
		n := s.Feed(&l.env, s, req)
		l.feeding = nil
		l.flush(s)
		if n != len(req) || s.State() != conn.StateParked {
			tb.Fatalf("consumed %d of %d, state %v", n, len(req), s.State())
		}
	}
}

// publish publishes one message to the parked polls and runs the drains
// it schedules; every poll is then answered with it.
func (p *parkedPolls) publish(tb testing.TB) {
	if _, err := p.l.srv.Publish("bench", []byte(`{"text":"hello, world","from":"bench"}`)); err != nil {
		tb.Fatal(err)
	}
	p.seq++
	for len(p.el.tasks) > 0 {
		task := p.el.tasks[0]
		p.el.tasks = append(p.el.tasks[:0], p.el.tasks[1:]...)
		if err := task.Run(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
}

// check fails unless every session got a 200 and stands ready for its
// next request.
func (p *parkedPolls) check(tb testing.TB) {
	for i, s := range p.l.sessions {
		gc := s.gc.(*countingConn)
		if s.State() != conn.StateHead || !bytes.HasPrefix(gc.last[:gc.lastN], []byte("HTTP/1.1 200 ")) {
			tb.Fatalf("poll %d: state %v, answer %.64q", i, s.State(), gc.last[:gc.lastN])
		}
		gc.lastN = 0
	}
}

// BenchmarkPollAnswerParked measures answering n parked long-polls of one
// channel with one message (a broadcast): "answer" times the drain that
// answers them, "cycle" the whole poll cycle, parking included (parse,
// history read, join, answer).
func BenchmarkPollAnswerParked(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, cycle := range []bool{false, true} {
			name := "answer"
			if cycle {
				name = "cycle"
			}
			b.Run(name+"/polls="+strconv.Itoa(n), func(b *testing.B) {
				p := newParkedPolls(b, n)
				p.publish(b)
				p.check(b)
				p.park(b)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p.publish(b)
					if !cycle {
						b.StopTimer()
					}
					p.check(b)
					p.park(b)
					if !cycle {
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/poll")
			})
		}
	}
}

// A long-poll cycle asks the engine once: a poll that finds nothing on a
// channel its loop already serves parks at the positions it read. Only
// the loop's first poll of the channel joins through the engine (a
// second read, after its subscription is in). Every poll is still
// answered with the next message.
func TestPollParksOnOneRead(t *testing.T) {
	const n = 50
	p := newParkedPolls(t, n)
	for round := 0; round < 3; round++ {
		p.publish(t)
		p.check(t)
		before := p.engine.reads.Load()
		p.park(t)
		if reads := p.engine.reads.Load() - before; reads != n+1 {
			t.Fatalf("round %d: %d engine reads to park %d polls, want %d", round, reads, n, n+1)
		}
		for i, s := range p.l.sessions {
			if len(s.subs) != 1 || s.subs[0].seq != p.seq || s.subs[0].epoch != p.epoch || s.subs[0].gap() {
				t.Fatalf("round %d: poll %d parked at %+v, want %s %d", round, i, s.subs, p.epoch, p.seq)
			}
		}
	}
}
