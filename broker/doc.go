// Package broker is the engine seam under a Comet node: the interfaces and
// types through which the reactor publishes, reads history, declares the
// channels it has local interest in, receives their publications, and
// tracks presence. It holds no implementation and performs no I/O.
//
// Positions and epochs belong to the engine, so that a shared engine can
// assign them for a whole cluster: broker/memory is the single-node
// engine, broker/redis the cluster engine. The node (package server)
// imports only this package; cmd/comet chooses and wires an
// implementation.
//
// The shape follows Centrifugo's Broker and PresenceManager, with three
// changes: History returns the stream's state with the publications in one
// read, so recovery needs no second call; reading never creates a channel,
// so naming a channel costs nothing durable; and an in-process engine can
// say it never blocks (Inline), so the node calls it directly on its event
// loops.
//
// Must not import: any other package of this module, gnet, or anything
// outside the standard library.
//
// Concurrency: implementations are safe for concurrent use from any
// goroutine.
package broker
