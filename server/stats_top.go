package server

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"slices"

	"github.com/panjf2000/gnet/v2"
)

// ChannelCount is a channel and the number of its subscriptions on this
// node.
type ChannelCount struct {
	Channel     string `json:"ch"`
	Subscribers int    `json:"subs"`
}

// MaxTopChannels bounds TopChannels' n.
const MaxTopChannels = 100

// TopChannels returns up to n channels of this node with the most
// subscribers, most first (ties by name). Subscribers are spread over the
// loops, so it asks in two rounds, each one task per loop on the loop's
// own goroutine: every loop names its max(4n, 64) largest channels, then
// every loop counts its subscribers of each channel named. The counts are
// exact; a channel can only be missed if it is outside that many largest
// channels on every loop. Each round walks the loop's hub, in proportion
// to its channels. Any goroutine but an event loop; it waits for every
// loop, or for ctx.
func (s *Server) TopChannels(ctx context.Context, n int) ([]ChannelCount, error) {
	if n <= 0 || n > MaxTopChannels {
		return nil, errors.New("server: top channels: n out of range")
	}
	k := max(4*n, 64)
	candidates := make(map[string]int)
	err := s.eachLoop(ctx, func(l *loop) []ChannelCount { return l.topChannels(k) }, func(c []ChannelCount) {
		for _, cc := range c {
			candidates[cc.Channel] = 0
		}
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(candidates))
	for name := range candidates {
		names = append(names, name)
	}
	err = s.eachLoop(ctx, func(l *loop) []ChannelCount { return l.countChannels(names) }, func(c []ChannelCount) {
		for _, cc := range c {
			candidates[cc.Channel] += cc.Subscribers
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]ChannelCount, 0, len(candidates))
	for ch, subs := range candidates {
		out = append(out, ChannelCount{Channel: ch, Subscribers: subs})
	}
	sortTop(out)
	return out[:min(n, len(out))], nil
}

// eachLoop runs ask on every loop's goroutine and hands each answer to
// add, on the caller's goroutine.
func (s *Server) eachLoop(ctx context.Context, ask func(*loop) []ChannelCount, add func([]ChannelCount)) error {
	loops := *s.loops.Load()
	results := make(chan []ChannelCount, len(loops))
	waiting := 0
	for _, l := range loops {
		err := l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			var answer []ChannelCount
			defer func() { results <- answer }()
			defer l.recoverPanic(nil)
			answer = ask(l)
			return nil
		}))
		if err == nil {
			waiting++
		}
	}
	for ; waiting > 0; waiting-- {
		select {
		case c := <-results:
			add(c)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errors.New("server: stopped")
		}
	}
	return nil
}

// topChannels returns the loop's k channels with the most local
// subscribers, through a min-heap of k entries: O(channels × log k).
// Loop-owned.
func (l *loop) topChannels(k int) []ChannelCount {
	h := make(minHeap, 0, k)
	for _, lc := range l.hub.all() {
		c := ChannelCount{Channel: lc.name, Subscribers: len(lc.subs)}
		switch {
		case len(h) < k:
			heap.Push(&h, c)
		case less(h[0], c):
			h[0] = c
			heap.Fix(&h, 0)
		}
	}
	sortTop(h)
	return h
}

// less orders by subscribers, then by name backwards (so that on a tie
// the name first in order ranks higher, as in sortTop).
func less(a, b ChannelCount) bool {
	if a.Subscribers != b.Subscribers {
		return a.Subscribers < b.Subscribers
	}
	return a.Channel > b.Channel
}

// minHeap holds the largest channels seen, the smallest on top.
type minHeap []ChannelCount

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return less(h[i], h[j]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(ChannelCount)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// countChannels counts the loop's subscribers of each named channel it
// has. Loop-owned.
func (l *loop) countChannels(names []string) []ChannelCount {
	var out []ChannelCount
	for _, name := range names {
		if lc := l.hub.get(name); lc != nil {
			out = append(out, ChannelCount{Channel: name, Subscribers: len(lc.subs)})
		}
	}
	return out
}

// sortTop orders by subscribers, most first, then by name.
func sortTop(c []ChannelCount) {
	slices.SortFunc(c, func(a, b ChannelCount) int {
		if d := cmp.Compare(b.Subscribers, a.Subscribers); d != 0 {
			return d
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
}
