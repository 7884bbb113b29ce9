// Package inboxtest is the contract every implementation of inbox.Store
// must pass: what inbox/store.go promises about logs, seqs, fan-out,
// idempotency, device positions, read markers, unread counts, retention,
// listing, deletion and closing, as tests that run against a real store.
// The embedded inbox.DB and the Redis store (inbox/redis) both run it, so
// the node can rely on the same behaviour whichever store it is wired to.
//
// A store's test calls Run with a constructor:
//
//	func TestContract(t *testing.T) {
//		inboxtest.Run(t, func(t *testing.T, o inboxtest.Options) inbox.Store {
//			return newStore(t, o) // new and empty, configured from o
//		})
//	}
//
// The suite asks only what the contract promises, through the interface;
// a store's own behaviour (durability, the background sweep, engine
// failures) stays in its own tests. Time comes from the suite's clock
// (Options.Now), so age limits and the idempotency window are tested
// without waiting.
//
// Must not import: any package of this module but inbox. Test helpers
// only: imported from _test.go files.
//
// Concurrency: Run runs its subtests one after another, each on a store
// of its own; some of them call the store from many goroutines.
package inboxtest
