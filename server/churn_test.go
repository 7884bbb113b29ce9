package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Subscribers that stay receive every message, in order, while others
// subscribe and leave the same channel around them, on every loop; no
// fault is recovered on the way (a recovered panic in a drain would drop
// the rest of its batch).
func TestChurnKeepsStableSubscribersWhole(t *testing.T) {
	const stable, msgs = 20, 400
	srv := startServer(t, Config{Loops: 3})
	dial := func() net.Conn {
		c, _, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr()+"/ws")
		if err != nil {
			t.Fatal(err)
		}
		_ = wsutil.WriteClientText(c, []byte(`{"op":"sub","ch":"churn"}`))
		_ = c.SetReadDeadline(time.Now().Add(readTimeout))
		if _, err := wsutil.ReadServerText(c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	errs := make(chan error, stable)
	var wg sync.WaitGroup
	for i := 0; i < stable; i++ {
		c := dial()
		t.Cleanup(func() { c.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m struct{ Seq uint64 }
			for want := uint64(1); want <= msgs; want++ {
				_ = c.SetReadDeadline(time.Now().Add(readTimeout))
				p, err := readServerMsg(c)
				if err == nil {
					err = json.Unmarshal(p, &m)
				}
				if err == nil && m.Seq != want {
					err = fmt.Errorf("got seq %d, want %d", m.Seq, want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	churned := make(chan int)
	var opened atomic.Int64 // churning connections so far: publishing waits for them
	go func() {             // open and close subscribers, some mid-subscribe, until told to stop
		rng := rand.New(rand.NewSource(1))
		n := 0
		var open []net.Conn
		for {
			select {
			case <-stop:
				for _, c := range open {
					c.Close()
				}
				churned <- n
				return
			default:
			}
			c, _, _, err := ws.Dial(context.Background(), "ws://"+srv.Addr()+"/ws")
			if err != nil {
				continue
			}
			_ = wsutil.WriteClientText(c, []byte(`{"op":"sub","ch":"churn"}`))
			open = append(open, c)
			n++
			opened.Add(1)
			for len(open) > 0 && rng.Intn(3) > 0 {
				k := rng.Intn(len(open))
				open[k].Close()
				open = append(open[:k], open[k+1:]...)
			}
		}
	}()
	// Publishing waits for the churn to keep pace (one connection per ten
	// messages), so the churn spans the whole stream however loaded the
	// machine is.
	for i := 1; i <= msgs; i++ {
		mustPublish(t, srv, "churn", i)
		if i%10 == 0 {
			waitUntil(t, "the churn to keep pace", func() bool { return opened.Load() >= int64(i/10) })
		}
	}
	wg.Wait()
	close(stop)
	if n := <-churned; n < 20 {
		t.Fatalf("only %d churning connections", n)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := srv.Stats().Panics; p != 0 {
		t.Fatalf("%d panics recovered", p)
	}
}

// The subscription index stays consistent through random joins and leaves
// (the O(1) swap-removes keep back references in both directions).
func TestSubscriptionIndexInvariants(t *testing.T) {
	l, _ := newBenchLoop(t, 0, kindNative)
	rng := rand.New(rand.NewSource(2))
	var chans []string
	for i := 0; i < 5; i++ {
		chans = append(chans, fmt.Sprintf("inv%d", i))
	}
	sessions := make([]*session, 30)
	for i := range sessions {
		sessions[i] = &session{gc: &countingConn{}, loop: l}
	}
	for step := 0; step < 5000; step++ {
		s := sessions[rng.Intn(len(sessions))]
		if len(s.subs) > 0 && rng.Intn(2) == 0 {
			l.unsubscribe(s, rng.Intn(len(s.subs)))
		} else {
			ch := chans[rng.Intn(len(chans))]
			if s.subIndex(ch) < 0 {
				l.subscribe(s, ch)
			}
		}
		for _, lc := range l.hub.all() {
			for pos, e := range lc.subs {
				if ss := e.s.subs[e.ref]; ss.lc != lc || int(ss.pos) != pos {
					t.Fatalf("step %d: entry %d of %s points back to %+v", step, pos, lc.name, ss)
				}
			}
		}
		for _, s := range sessions {
			for i, ss := range s.subs {
				if e := ss.lc.subs[ss.pos]; e.s != s || int(e.ref) != i {
					t.Fatalf("step %d: session sub %d points to %+v", step, i, e)
				}
			}
		}
	}
}
