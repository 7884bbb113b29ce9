package server

import (
	"fmt"
	"slices"
)

// Reload applies a new configuration to the running node (SIGHUP in
// cmd/comet). What can change safely changes at once for every loop:
//
//   - keys and permissions: APIKey, InsecureAPI, Auth.Policy (namespaces),
//     Auth.Verifier (token keys), Auth.Tokens, AllowedOrigins,
//     TrustedProxies;
//   - admission: MaxConnections, ReserveFiles, MaxConnsPerIP, NoWebSocket,
//     Echo;
//   - limits: MaxHeaderBytes, MaxHeaders, MaxBodyBytes, MaxMessageBytes,
//     MaxJSONDepth, MessageTimeout, MaxOutboundBytes, MaxSubscriptions,
//     PublishRate, PublishBurst (a connection's WebSocket frame cap and
//     publish bucket are fixed when it opens: they apply to connections
//     opened after the reload);
//   - timers: HandshakeTimeout, PingInterval, PongTimeout, CloseTimeout,
//     DrainTimeout, DrainDelay, DrainWindow, PollHold, PollBatch,
//     StreamHeartbeat.
//
// Everything else (addresses, loops, engines, worker pools, clocks, the
// connect hook, the demo issuer, the webhook) stays as it was; Reload
// returns the names of such fields that c sets differently, for the caller
// to report as needing a restart. An invalid c changes nothing and returns
// the error. c may leave the engines, the clock and the logger unset: the
// running node's are kept. Any goroutine; concurrent Reloads are
// serialised.
func (s *Server) Reload(c Config) (restart []string, err error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cur := s.conf().Config
	// What c leaves unset and cannot change anyway is the running node's.
	if c.Broker == nil {
		c.Broker, c.Presence, c.Ready = cur.Broker, cur.Presence, cur.Ready
	}
	if c.Now == nil {
		c.Now = cur.Now
	}
	if c.Logger == nil {
		c.Logger = cur.Logger
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("server: invalid config: %w", err)
	}
	c = c.withDefaults()
	next := cur

	next.APIKey, next.InsecureAPI = c.APIKey, c.InsecureAPI
	if c.Auth.Policy != nil {
		next.Auth.Policy = c.Auth.Policy
	}
	if c.Auth.Verifier != nil {
		next.Auth.Verifier = c.Auth.Verifier
	}
	next.Auth.Tokens = c.Auth.Tokens
	next.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	next.TrustedProxies = slices.Clone(c.TrustedProxies)

	next.MaxConnections, next.ReserveFiles, next.MaxConnsPerIP = c.MaxConnections, c.ReserveFiles, c.MaxConnsPerIP
	next.NoWebSocket, next.Echo = c.NoWebSocket, c.Echo

	next.MaxHeaderBytes, next.MaxHeaders, next.MaxBodyBytes = c.MaxHeaderBytes, c.MaxHeaders, c.MaxBodyBytes
	next.MaxMessageBytes, next.MaxJSONDepth, next.MessageTimeout = c.MaxMessageBytes, c.MaxJSONDepth, c.MessageTimeout
	next.MaxOutboundBytes, next.MaxSubscriptions = c.MaxOutboundBytes, c.MaxSubscriptions
	next.PublishRate, next.PublishBurst = c.PublishRate, c.PublishBurst

	next.HandshakeTimeout, next.PingInterval, next.PongTimeout = c.HandshakeTimeout, c.PingInterval, c.PongTimeout
	next.CloseTimeout, next.DrainTimeout = c.CloseTimeout, c.DrainTimeout
	next.DrainDelay, next.DrainWindow = c.DrainDelay, c.DrainWindow
	next.PollHold, next.PollBatch, next.StreamHeartbeat = c.PollHold, c.PollBatch, c.StreamHeartbeat

	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"Addr", c.Addr != cur.Addr},
		{"Loops", c.Loops != cur.Loops},
		{"Workers", c.Workers != cur.Workers},
		{"WorkQueue", c.WorkQueue != cur.WorkQueue},
		{"MaxInFlight", c.MaxInFlight != cur.MaxInFlight},
		{"BrokerTimeout", c.BrokerTimeout != cur.BrokerTimeout},
		{"InterestLinger", c.InterestLinger != cur.InterestLinger},
		{"PresenceTTL", c.PresenceTTL != cur.PresenceTTL},
		{"HistorySize", c.HistorySize != cur.HistorySize},
		{"HistoryTTL", c.HistoryTTL != cur.HistoryTTL},
		{"Tick", c.Tick != cur.Tick},
		{"Compression", c.Compression != cur.Compression},
		{"Auth.Hook", c.Auth.Hook != nil && c.Auth.Hook != cur.Auth.Hook},
		{"Auth.Demo", (c.Auth.Demo == nil) != (cur.Auth.Demo == nil)},
		{"Auth.Webhook", c.Auth.Webhook != nil && c.Auth.Webhook != cur.Auth.Webhook},
	} {
		if f.changed {
			restart = append(restart, f.name)
		}
	}
	s.live.Store(newSettings(next))
	s.stats.reloads.Add(1)
	return restart, nil
}
