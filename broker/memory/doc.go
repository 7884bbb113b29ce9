// Package memory is Comet's single-node engine: broker.Broker and
// broker.Presence in process memory. It assigns each channel's epoch and
// sequence, keeps a bounded history per channel, and hands every
// publication of a channel the node subscribed to its Handler, in seq
// order, from inside Publish.
//
// Lifecycle: a channel comes to exist when it is first published to.
// Reading its history, or subscribing to it, creates nothing, so naming
// channels costs a client nothing durable. A channel is dropped once it
// has no subscriber, nothing left in history, and no activity (a publish,
// or its last subscriber leaving) for HistoryTTL; a later publish starts a
// new epoch.
//
// Bounds: history per channel by count, age and bytes; history per node by
// bytes, evicting the oldest messages first (a client that needed them is
// told of the gap, as for any message history no longer holds); channels
// per node; idempotency keys per node. A message's cost in bytes is twice
// its payload (the data, and the node's encoded frame holding a copy)
// plus a fixed overhead for the structures around it (Cost).
//
// Locking: channels live in 64 shards, each under one mutex that also
// guards its channels, its eviction queue and its idempotency keys.
// Handler.OnPublication runs with the channel's shard locked, which is
// what orders a channel's publications for every subscriber; a Handler
// must therefore be quick and must not call back into the engine.
//
// Must not import: the server, conn, codec or protocol packages, gnet.
//
// Concurrency: every method is safe for concurrent use. The engine never
// blocks on I/O (it implements broker.Inline), so the node calls it from
// its event loops.
package memory
