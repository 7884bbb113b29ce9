// Package server is the Comet node: a gnet/v2 engine whose event loops own
// every socket, the HTTP routes and WebSocket protocol on top of package
// conn, the channel registry with sequence numbers and history, per-loop
// fan-out, per-loop timer wheels, the publish API and graceful drain.
//
// Shape (see docs/ARCHITECTURE.md for the reasons):
//
//   - Each event loop owns its sessions, its subscriptions (loop.hub), its
//     timer wheel and its scratch buffers; nothing else touches them.
//   - Publish (any goroutine) takes the channel's lock, assigns the next
//     seq, encodes the WebSocket frame once, stores it in history and
//     appends it to the mailbox of every loop with subscribers, still under
//     the lock, so each loop sees a channel's messages in seq order. One
//     Execute per loop then drains the whole mailbox, writing the shared
//     frame to every local subscriber.
//   - A ticker goroutine (gnet's OnTick) posts one tick task per loop; the
//     task advances the loop's wheel, which fires handshake deadlines,
//     pings, pong deadlines and close-handshake deadlines.
//   - A panic while serving one connection closes that connection only.
//
// This is the only package that imports gnet. It must not import bench or
// cmd. Exported Server methods are safe for concurrent use; everything else
// runs on the event loop that owns the state.
package server
