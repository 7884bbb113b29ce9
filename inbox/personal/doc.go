// Package personal serves users' personal channels from their durable
// inbox (package inbox): a broker.Broker that stores every publication to
// a personal channel in the user's log before it answers, delivers it live
// through another engine (the relay: broker/memory on one node,
// broker/redis in a cluster) with the log's position, and reads history
// from the log, so that a device that was offline for a day, or a node that
// restarted, gets exactly what it missed, paged, with retention gaps
// counted. Every other channel goes to the relay unchanged.
//
// A channel's position here is the user's log position: its epoch is the
// log's epoch (decimal), its seq the log's seq. A DM to both participants
// is one atomic append (PublishMany, broker.Fanout).
//
// Must not import: server, gnet, or any engine implementation (cmd/comet
// wires the relay and the store). Concurrency: every method may be called
// from any goroutine and may block on the store; the node calls them from
// its workers, never from an event loop.
package personal
