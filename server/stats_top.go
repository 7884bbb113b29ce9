package server

import (
	"cmp"
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
// subscribers, most first. Each loop ranks its own channels on its own
// goroutine (a walk of its hub, in proportion to its channels) and the
// node merges the loops' lists, so a channel whose subscribers are spread
// thin over many loops may be missing from the list when many channels
// are about as large. Any goroutine but an event loop; it waits for every
// loop, or for ctx.
func (s *Server) TopChannels(ctx context.Context, n int) ([]ChannelCount, error) {
	if n <= 0 || n > MaxTopChannels {
		return nil, errors.New("server: top channels: n out of range")
	}
	loops := *s.loops.Load()
	results := make(chan []ChannelCount, len(loops))
	waiting := 0
	for _, l := range loops {
		err := l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			var top []ChannelCount
			defer func() { results <- top }()
			defer l.recoverPanic(nil)
			top = l.topChannels(n)
			return nil
		}))
		if err == nil {
			waiting++
		}
	}
	sums := make(map[string]int)
	for ; waiting > 0; waiting-- {
		select {
		case top := <-results:
			for _, c := range top {
				sums[c.Channel] += c.Subscribers
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, errors.New("server: stopped")
		}
	}
	out := make([]ChannelCount, 0, len(sums))
	for ch, subs := range sums {
		out = append(out, ChannelCount{Channel: ch, Subscribers: subs})
	}
	sortTop(out)
	return out[:min(n, len(out))], nil
}

// topChannels ranks the loop's channels by local subscribers. Loop-owned.
func (l *loop) topChannels(n int) []ChannelCount {
	top := make([]ChannelCount, 0, n+1)
	for name, lc := range l.hub {
		subs := len(lc.subs)
		if len(top) == n && subs <= top[n-1].Subscribers {
			continue
		}
		top = append(top, ChannelCount{Channel: name, Subscribers: subs})
		sortTop(top)
		top = top[:min(n, len(top))]
	}
	return top
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
