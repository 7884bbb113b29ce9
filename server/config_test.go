package server

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("the zero Config must be valid: %v", err)
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
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %q", tc.cfg, err, tc.want)
		}
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("New accepted %+v", tc.cfg)
		}
	}
}
