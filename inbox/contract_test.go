package inbox_test

import (
	"testing"

	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/inbox/inboxtest"
)

// TestContract runs the Store contract against the embedded DB, with the
// os policy (the contract does not depend on fsync; TestCrash covers each
// policy) and no background sweep (the suite's clock moves by hand).
func TestContract(t *testing.T) {
	inboxtest.Run(t, func(t *testing.T, o inboxtest.Options) inbox.Store {
		d, err := inbox.Open(t.TempDir(), inbox.Options{
			Durability:        inbox.DurabilityOS,
			SweepInterval:     -1,
			Now:               o.Now,
			Retention:         o.Retention,
			IdempotencyWindow: o.IdempotencyWindow,
			MaxDevices:        o.MaxDevices,
			MaxPayloadBytes:   o.MaxPayloadBytes,
			MaxRecipients:     o.MaxRecipients,
			MaxAppendBytes:    o.MaxAppendBytes,
			PageSize:          o.PageSize,
			PageBytes:         o.PageBytes,
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
