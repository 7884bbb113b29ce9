package brokertest_test

import (
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/brokertest"
	"github.com/comet-im/comet/broker/memory"
)

// The in-process engine passes the contract: the suite holds nothing only
// Redis can do.
func TestMemoryContract(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, o brokertest.Options) broker.Broker {
		b, err := memory.New(memory.Config{HistorySize: o.HistorySize, HistoryTTL: o.HistoryTTL, IdempotencyWindow: o.IdempotencyWindow, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestMemoryPresenceContract(t *testing.T) {
	brokertest.RunPresence(t, func(t *testing.T, o brokertest.Options) broker.Presence {
		return memory.NewPresence(o.Now)
	})
}
