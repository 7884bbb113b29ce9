package server

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/panjf2000/gnet/v2"
)

// taskLoop is an event loop that keeps the tasks posted to it, for a test
// to run one at a time.
type taskLoop struct {
	gnet.EventLoop
	tasks []gnet.Runnable
}

func (e *taskLoop) Execute(_ context.Context, r gnet.Runnable) error {
	e.tasks = append(e.tasks, r)
	return nil
}

// A drain of a thousand messages to a thousand subscribers is delivered in
// tasks of at most shareWrites writes each, in order, every message to
// every subscriber once; each task ends by posting the next, so the event
// loop serves its sockets between them.
func TestDrainSharesTheLoop(t *testing.T) {
	const subs, msgs = 1000, 1000
	l, _ := newBenchLoop(t, subs, kindNative)
	el := &taskLoop{}
	l.el = el
	conns := make([]*callConn, subs)
	for i, s := range l.sessions {
		conns[i] = &callConn{}
		s.gc = conns[i]
	}
	for _, m := range batchMessages(1, msgs) {
		l.post(m, nil)
	}
	tasks := 0
	for len(el.tasks) > 0 {
		if len(el.tasks) != 1 {
			t.Fatalf("%d drains scheduled at once, want one", len(el.tasks))
		}
		task := el.tasks[0]
		el.tasks = el.tasks[:0]
		before := writeCalls(conns)
		if err := task.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := writeCalls(conns) - before; n > shareWrites {
			t.Fatalf("task %d made %d writes, want at most %d", tasks, n, shareWrites)
		}
		tasks++
		if tasks > msgs {
			t.Fatal("the drain never ends")
		}
	}
	if want := (msgs + 16*corkRun - 1) / (16 * corkRun); tasks != want {
		t.Fatalf("%d tasks, want %d (runs of %d messages, 16 runs of a thousand writes each per task)", tasks, want, corkRun)
	}
	for i, c := range conns {
		out := c.out.Bytes()
		for n, at := 1, 0; n <= msgs; n++ {
			k := bytes.Index(out[at:], []byte(`{"n":`+strconv.Itoa(n)+`}`))
			if k < 0 {
				t.Fatalf("subscriber %d: message %d missing or out of order", i, n)
			}
			at += k + 1
		}
	}
	if l.backlog != nil || len(l.msgs) != 0 {
		t.Fatalf("backlog %d, mailbox %d after the last task", len(l.backlog), len(l.msgs))
	}
}

// A share counts a channel's run of messages as one write per subscriber
// and always takes at least one message, however many subscribers it has.
func TestFanOutShare(t *testing.T) {
	l, _ := newBenchLoop(t, 5000, kindNative)
	if n := l.fanOutShare(batchMessages(1, 100)); n != 3*corkRun {
		t.Fatalf("share of 100 messages to 5,000 subscribers: %d, want %d (three runs)", n, 3*corkRun)
	}
	big, _ := newBenchLoop(t, shareWrites+1, kindNative)
	if n := big.fanOutShare(batchMessages(1, 40)); n != corkRun {
		// The first run alone is over the bound: it is taken whole, since
		// its later messages cost no further writes, and the next is not.
		t.Fatalf("share with %d subscribers: %d, want %d", shareWrites+1, n, corkRun)
	}
}

func writeCalls(conns []*callConn) int {
	n := 0
	for _, c := range conns {
		n += c.writes + c.writevs
	}
	return n
}
