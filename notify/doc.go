// Package notify tells the application's backend when a user comes online
// or goes offline (docs/AUTH.md "Presence webhook"), so that it can send a
// mobile push instead of relying on a connection that is gone.
//
// Webhook.Notify queues an event and returns at once; a few sender
// goroutines POST each event as JSON to the configured URL, with a timeout
// per attempt, retries with exponential backoff and jitter, and an
// optional HMAC signature. The queue is bounded and coalesces per user: a
// later event for a user replaces that user's undelivered one, since the
// backend wants the user's current state, not the history of a flapping
// connection. When the queue is full, the oldest pending event is dropped
// and counted. Delivery is at least once: each event carries an id for the
// backend to drop a duplicate.
//
// Must not import: any other package of this module, gnet, or anything
// outside the standard library.
//
// Concurrency: Notify and Stats may be called from any goroutine,
// including an event loop: Notify holds a mutex for a few map and list
// operations and never waits for the network. Close may be called once,
// from any goroutine; it blocks until the queue is drained or its context
// ends. The senders are this package's own goroutines.
package notify
