package redis

import (
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
	"github.com/comet-im/comet/internal/testredis"
)

func contractConfig(addrs []string, o brokertest.Options) Config {
	cfg := testConfig(addrs...)
	cfg.HistorySize, cfg.HistoryTTL, cfg.IdempotencyWindow, cfg.Now = o.HistorySize, o.HistoryTTL, o.IdempotencyWindow, o.Now
	return cfg
}

func TestContract(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	brokertest.Run(t, func(t *testing.T, o brokertest.Options) broker.Broker {
		b, err := New(contractConfig([]string{srv.Addr()}, o))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestPresenceContract(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	brokertest.RunPresence(t, func(t *testing.T, o brokertest.Options) broker.Presence {
		return open(t, contractConfig([]string{srv.Addr()}, o))
	})
}
