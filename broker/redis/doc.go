// Package redis is Comet's cluster engine: broker.Broker and
// broker.Presence on a real Redis (7.0 or later), so that several nodes
// behind a load balancer share channels and any node can serve any
// request: a long-poll cursor, an SSE Last-Event-ID or a WebSocket since
// is answered from the same epochs, seqs and history whichever node gets
// it.
//
// Storage: each channel is a meta hash (epoch, seq, created), a history
// stream and a pub/sub topic, all hashed to one slot by a hash tag on the
// channel's name. One Lua script per publish creates the epoch if needed,
// takes the next seq, appends to the stream (exact MAXLEN, and age), applies
// the idempotency key and publishes, atomically; a history read is one
// MULTI/EXEC of a read-only state script and an XRANGE, so the
// publications and the stream's state come from the same moment.
// Epochs and seqs live in Redis, so they survive node restarts (and Redis
// restarts, with its append-only file). docs/REDIS.md has the key layout,
// the scripts and what each durability setting can lose.
//
// Delivery: one pub/sub connection per node for a single server; in Redis
// Cluster sharded pub/sub (SSUBSCRIBE, Redis 7) with one connection per
// master. A dispatcher goroutine per group of channels hands each
// channel's publications to the Handler one at a time, in seq order, with
// no lock held. When a connection drops, it reconnects with backoff,
// subscribes everything again, and reads back from each channel's stream
// what came after the last seq it delivered, before any newer live one;
// what history no longer holds shows as a seq jump. A jump seen on a live
// connection is read back the same way.
//
// Must not import: the server, conn, codec or protocol packages, gnet.
//
// Concurrency: every method is safe for concurrent use. Calls wait on the
// network (at most Config.Timeout): the node calls them off its event
// loops. The Handler is called from the engine's dispatcher goroutines,
// never for one channel from two at once; it may call Subscribe and
// Unsubscribe from another goroutine, as no engine lock is held while it
// runs.
package redis
