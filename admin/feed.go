package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/comet-im/comet/server"
)

// FeedConfig configures the stats feed: what the dashboard page receives.
type FeedConfig struct {
	// Channel is where the feed publishes.
	Channel string
	// Interval is the time between two publications; default 1 s.
	Interval time.Duration
	// Top is the number of channels listed by subscribers; default 10,
	// at most server.MaxTopChannels.
	Top int
	// Stats, TopChannels and Publish are the node's (Server.Stats,
	// Server.TopChannels, Server.Publish).
	Stats       func() server.Stats
	TopChannels func(ctx context.Context, n int) ([]server.ChannelCount, error)
	Publish     func(channel string, data []byte) (uint64, error)
	// Logger receives failures to publish, once per failure streak;
	// nil means slog.Default().
	Logger *slog.Logger
}

// FeedMessage is one publication of the feed. Totals count since the
// node started; rates are per second over the last interval.
type FeedMessage struct {
	Time        int64                 `json:"t"` // Unix ms
	Connections map[string]int64      `json:"conns"`
	Total       int64                 `json:"total"`
	Subs        int64                 `json:"subs"`
	Channels    int64                 `json:"channels"`
	Published   int64                 `json:"published"`
	Delivered   int64                 `json:"delivered"`
	PubRate     float64               `json:"pub_rate"`
	DelRate     float64               `json:"del_rate"`
	OutRate     float64               `json:"out_rate"` // bytes per second
	SlowCuts    int64                 `json:"slow"`
	SlowRate    float64               `json:"slow_rate"`
	Refused     int64                 `json:"refused"`
	Ready       bool                  `json:"ready"`
	Draining    bool                  `json:"draining"`
	Top         []server.ChannelCount `json:"top"`
}

// RunFeed publishes the node's stats to c.Channel every c.Interval until
// ctx ends. The feed's own publication counts among the messages it
// reports (one per interval).
func RunFeed(ctx context.Context, c FeedConfig) {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Top <= 0 {
		c.Top = 10
	}
	c.Top = min(c.Top, server.MaxTopChannels)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	var prev server.Stats
	prevAt := time.Now()
	prev = c.Stats()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		st := c.Stats()
		m := feedMessage(st, prev, now.Sub(prevAt))
		m.Time = now.UnixMilli()
		tctx, cancel := context.WithTimeout(ctx, c.Interval)
		// One more than shown, for the feed's own channel, which is left
		// out: its subscribers are dashboards.
		if top, err := c.TopChannels(tctx, min(c.Top+1, server.MaxTopChannels)); err == nil {
			m.Top = withoutChannel(top, c.Channel, c.Top)
		}
		cancel()
		prev, prevAt = st, now
		body, _ := json.Marshal(m)
		_, err := c.Publish(c.Channel, body)
		switch {
		case err != nil && !failing:
			c.Logger.Warn("dashboard feed: publish failed", "channel", c.Channel, "err", err)
		case err == nil && failing:
			c.Logger.Info("dashboard feed: publishing again", "channel", c.Channel)
		}
		failing = err != nil
	}
}

// feedMessage computes one publication from two snapshots d apart.
func feedMessage(st, prev server.Stats, d time.Duration) FeedMessage {
	rate := func(now, before int64) float64 {
		if d <= 0 || now < before {
			return 0
		}
		return float64(now-before) / d.Seconds()
	}
	conns := make(map[string]int64, len(server.Transports()))
	for _, t := range server.Transports() {
		conns[t] = st.Open[t]
	}
	slow, slowBefore := st.Closed["slow consumer"], prev.Closed["slow consumer"]
	var refused int64
	for _, n := range st.Refused {
		refused += n
	}
	return FeedMessage{
		Connections: conns,
		Total:       st.Connections,
		Subs:        st.Subscriptions,
		Channels:    st.Channels,
		Published:   st.Published,
		Delivered:   st.Delivered,
		PubRate:     rate(st.Published, prev.Published),
		DelRate:     rate(st.Delivered, prev.Delivered),
		OutRate:     rate(st.BytesOut, prev.BytesOut),
		SlowCuts:    slow,
		SlowRate:    rate(slow, slowBefore),
		Refused:     refused,
		Ready:       st.Ready,
		Draining:    st.Draining,
		Top:         []server.ChannelCount{},
	}
}

// withoutChannel drops ch from top and keeps at most n entries.
func withoutChannel(top []server.ChannelCount, ch string, n int) []server.ChannelCount {
	out := top[:0]
	for _, c := range top {
		if c.Channel != ch && len(out) < n {
			out = append(out, c)
		}
	}
	return out
}
