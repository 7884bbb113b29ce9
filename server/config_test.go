package server

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "broker is required") {
		t.Fatalf("a Config without a broker must be refused, got %v", err)
	}
	if err := (Config{Broker: newMemoryEngine(t, Config{})}).Validate(); err != nil {
		t.Fatalf("a Config with only a broker must be valid: %v", err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "no-port"}, "addr"},
		{Config{Loops: 65}, "loops"},
		{Config{Loops: -1}, "loops"},
		{Config{MaxOutboundBytes: -1}, "max outbound bytes"},
		{Config{PollBatch: -5}, "poll batch"},
		{Config{MaxMessageBytes: 17 << 20}, "max message bytes"},
		{Config{PingInterval: -time.Second}, "ping interval"},
		{Config{Tick: 2 * time.Second}, "tick"},
	} {
		tc.cfg.Broker = newMemoryEngine(t, Config{})
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %q", tc.cfg, err, tc.want)
		}
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("New accepted %+v", tc.cfg)
		}
	}
}
