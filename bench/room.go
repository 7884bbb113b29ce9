package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// room is a busy chat room: RoomSubs subscribers on one channel and
// RoomPubs closed-loop publishers, each publishing its next message as soon
// as the server accepted the previous one, for RoomTime. Every publisher
// takes the next index of the one channel, so indices reach the server
// slightly out of order (counted as reordered, not lost); a failed publish's
// index is left out of the loss accounting.
func (s *scenarioRun) room(ctx context.Context) error {
	defer s.closeGroups()
	subs, pubs, dur := s.cfg.RoomSubs, s.cfg.RoomPubs, s.cfg.RoomTime
	p := s.res.Params
	p["subs"], p["publishers"], p["seconds"], p["payload"] = subs, pubs, dur.Seconds(), s.cfg.PayloadSize
	ch := "room-" + itoa(int(time.Now().UnixNano()%1e6))
	opened, _, _, err := s.dialAll(ctx, slices.Repeat([]string{ch}, subs), 0)
	if err != nil {
		return err
	}
	pub := NewPublisher(s.ep, pubs)
	defer pub.Close()
	var (
		next, acked atomic.Int64
		mu          sync.Mutex
		unacked     []int64 // guarded by mu
		firstErr    string  // guarded by mu
		accept      Histogram
		wg          sync.WaitGroup
	)
	c0, p0 := s.count(), s.sample()
	t0 := time.Now()
	stop := t0.Add(dur)
	for range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			// Bounded by time and by count (1e7 per publisher).
			for i := 0; i < 10_000_000 && time.Now().Before(stop) && ctx.Err() == nil; i++ {
				k := next.Add(1) - 1
				sent := time.Now()
				buf = Payload(buf[:0], k, sent, s.cfg.PayloadSize)
				if _, err := pub.Publish(ctx, ch, buf); err != nil {
					mu.Lock()
					unacked = append(unacked, k)
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				accept.RecordDuration(time.Since(sent))
				acked.Add(1)
			}
		}()
	}
	for time.Now().Before(stop) && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		s.progress("%v/%v, %d published, %d delivered", time.Since(t0).Round(time.Second), dur, acked.Load(), s.count()-c0)
	}
	c1, p1 := s.count(), s.sample()
	windowAcked := acked.Load()
	window := time.Since(t0)
	wg.Wait()
	total := next.Load()
	s.waitDeliveries(ctx, acked.Load()*int64(opened), 3*time.Second, 30*time.Second)
	slices.Sort(unacked)
	r, lat, err := s.report(publishedSet{Count: map[string]int64{ch: total}, Unacked: map[string][]int64{ch: unacked}})
	if err != nil {
		return err
	}
	m := s.res.Metrics
	m["subs"] = float64(opened)
	m["published"] = float64(acked.Load())
	m["publish_errors"] = float64(len(unacked))
	m["published_per_s"] = float64(acked.Load()) / window.Seconds()
	m["delivered_per_s"] = float64(c1-c0) / window.Seconds()
	m["expected"] = float64(acked.Load()) * float64(opened)
	m["accept_p50_ms"] = float64(accept.Percentile(0.5)) / 1000
	m["accept_p99_ms"] = float64(accept.Percentile(0.99)) / 1000
	if firstErr != "" {
		s.res.Notes = append(s.res.Notes, "first publish error: "+firstErr)
	}
	s.recordDelivery(r, lat)
	s.recordCPU(p0, p1, c1-c0)
	s.recordPublishCPU(p0, p1, windowAcked)
	s.res.Notes = append(s.res.Notes, fmt.Sprintf("delivered_per_s and cpu over the %.1f s window; latency over every delivery, the drain after the window included", window.Seconds()))
	return nil
}
