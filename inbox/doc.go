// Package inbox is the durable per-user inbox: for each user an ordered
// log of the messages addressed to them, with its own gapless sequence,
// the delivery position of each of their devices, a read marker and unread
// counters per conversation, and retention by count, age and bytes that
// always says exactly how much it removed. docs/INBOX.md describes the
// model, the durability policies and the figures behind the engine.
//
// Store is the contract, free of any engine's types, so that a shared
// engine (Redis, in cluster mode) can serve it too. DB is the embedded
// implementation: one go.etcd.io/bbolt file under a data directory.
//
// Must not import: any other package of this module, gnet, or any engine
// but bbolt.
//
// Concurrency: every method of DB is safe for concurrent use and may
// block on disk I/O, so none may be called from an event loop: the node
// calls it from its worker pool. Reads run in the caller's goroutine on
// a consistent snapshot, in parallel with each other and with writes.
// Writes (Append, Ack, MarkRead, ForgetDevice, DeleteUser, Sweep) are
// queued to one committer goroutine, which commits them in groups; a
// write returns once its group has committed under the durability
// policy. A write that returned is seen by every read that starts after
// it. DB starts two goroutines, the committer and the background sweep;
// Close stops both.
package inbox
