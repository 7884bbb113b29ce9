// Package brokertest is the contract every engine behind the broker seam
// must pass: what broker/broker.go promises about positions, history,
// delivery and presence, as tests that run against a real engine.
// broker/memory and broker/redis both run it, so the node can rely on the
// same behaviour whichever engine it is wired to.
//
// An engine's test calls Run with a constructor, and RunPresence for its
// broker.Presence:
//
//	func TestContract(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T, o brokertest.Options) broker.Broker {
//			return newEngine(t, o) // configured from o, not started
//		})
//	}
//
// The suite asks only what the contract promises; an engine's own
// behaviour (channel limits, byte caps, link loss) stays in its own
// tests. Time comes from the suite's clock (Options.Now), so history and
// presence expiry are tested without waiting.
//
// Must not import: any package of this module but broker. Test helpers
// only: imported from _test.go files.
//
// Concurrency: Run and RunPresence run their subtests one after another;
// the engine they test is called from many goroutines.
package brokertest
