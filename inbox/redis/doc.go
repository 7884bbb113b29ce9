// Package redis is the per-user inbox (inbox.Store) on Redis, a single
// server or a Redis Cluster, 7.0 or later: the store of cluster mode,
// with the same contract as the embedded inbox.DB of single-node mode,
// so that any node can serve any user's log, devices and markers.
//
// Storage: each user's keys (meta hash, log list, devices, conversation
// records and ids, unread index, idempotency records) carry the user id
// as their hash tag, so they share one slot and one Lua script can change
// all of them atomically: an append takes the seq, stores the entry,
// counts it unread, applies the idempotency key and the retention limits
// (with exact dropped counts) in one step; a read gets the state and the
// page in one snapshot. Epochs and seqs live in Redis, so they survive
// node restarts (and Redis restarts, with its append-only file). Every
// call's work is bounded (a page, 64 trimmed entries, 32 devices).
//
// Fan-out: on a single server one script appends to every recipient
// (atomic, as in the embedded store). In a cluster the recipients are in
// different slots, which one script cannot span: each recipient's append
// is its own script, and the fan-out is all-or-retry: a failed Append may
// have reached some recipients, and a retry with the same idempotency key
// completes it without duplicates. docs/REDIS.md ("The inbox on Redis")
// has the layout, the scripts, what each durability setting can lose and
// the figures.
//
// Errors: an unreachable or unanswering Redis fails a call within
// Config.Timeout with an error wrapping broker.ErrUnavailable (the node
// answers 503); the caller's own context ending returns its error. Both
// leave a write stored or not: retry an Append with the same key.
//
// Must not import: the server, conn, codec or protocol packages, gnet;
// of this module only inbox and broker (for ErrUnavailable).
//
// Concurrency: every method is safe for concurrent use and waits on the
// network (at most Config.Timeout per Redis call), so none may be called
// from an event loop. Close waits for the calls in flight. The store
// starts one goroutine, the background sweep, which Close stops.
package redis
