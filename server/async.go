package server

import (
	"context"
	"sync"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/protocol"
)

// The async completion path. A session asks for work that may block (an
// engine call that goes to the network or a disk) by filling a request
// and submitting it; the event loop goes on. A worker runs the request,
// then posts it to the session's loop, where complete resumes the
// session, unless the session closed or moved to another request
// meanwhile (the generation check). An engine that never blocks
// (broker.Inline) runs the request right away on the loop instead, so the
// same code serves both, without a goroutine hop on the fast path.
//
// Requests come from a per-loop free list and keep their buffers, so the
// steady state allocates nothing on either path.

// op says what a request does and how its session resumes.
type op uint8

const (
	opPublish  op = iota // publish one message
	opRead               // read history of some channels (a poll that may answer at once)
	opJoin               // subscribe at the engine if needed, then read history, per channel
	opAuth               // ask the connect hook who the client is, then go on with then
	opPresence           // read a channel's presence
	opInbox              // a call to the inbox: an ack, a read marker, unread counts, the API (inboxOp)
)

// request is one unit of async work and its result.
type request struct {
	s      *session
	gen    uint32
	op     op
	async  bool     // counted in s.inflight until it completes
	resync bool     // opJoin: an existing subscription joins again
	next   *request // free list or mailbox chain

	// opPublish
	channel string
	data    []byte
	opts    broker.PublishOptions
	id      string // the client's request id, echoed in the reply
	from    publishFrom
	echo    bool   // the publisher wants its own message back
	idem    string // a client's idempotency key, before stampPublish scopes it
	// An API publish to several channels (or a DM): one result each.
	targets []string
	results []publishResult
	dm      bool
	to      string // a client's DM: the recipient, until planDM names the targets
	pos     broker.Position
	err     error

	// opRead, opJoin: one entry per channel.
	chans []chanRead
	limit int
	// planned: the channels are not subscribed locally yet (the request
	// waits for authentication); subscribePlanned does it.
	planned bool
	// connect: the join of a WebSocket's personal and initial channels.
	connect bool
	// subTokens are the subscription tokens the request came with,
	// verified.
	subTokens []auth.SubscriptionToken
	// rawSubTokens are the HTTP request's subtoken= values, verified
	// into subTokens once the client is known.
	rawSubTokens []string

	// opPresence
	present []broker.PresenceInfo
	pstats  broker.PresenceStats

	// opAuth
	hook  auth.HookRequest
	ident auth.Identity
	then  *request // what to do once the client is known

	// The client's user and device, for the inbox (opInbox; opRead and
	// opJoin of a personal channel).
	user, device string
	// opInbox: made on a request's first inbox call and kept with it (a
	// value would make every request, a short poll's too, half a KiB
	// larger to clear).
	inbox *inboxCall
}

// chanRead is the reading of one channel: where the client stands, and
// what the engine answered.
type chanRead struct {
	name     string
	since    broker.Position
	hasSince bool
	interest *interest // opJoin: the node's interest; created: subscribe first
	created  bool

	pubs []*broker.Publication
	st   broker.StreamState
	rec  protocol.Recovery
	err  error
	held *joinWait // loop-owned: what the subscription held, between two passes
	// A personal channel with an inbox: fromDevice starts it after the
	// device's acknowledged position (the request named none); ackSince
	// acknowledges the position the request named (a cursor is an ack).
	fromDevice, ackSince bool
}

// reset clears r for reuse, keeping its buffers.
func (r *request) reset() {
	for i := range r.chans {
		clear(r.chans[i].pubs)
		r.chans[i] = chanRead{pubs: r.chans[i].pubs[:0]}
	}
	clear(r.subTokens)
	clear(r.rawSubTokens)
	clear(r.present)
	clear(r.targets)
	clear(r.results)
	if r.inbox != nil {
		r.inbox.reset()
	}
	*r = request{inbox: r.inbox, chans: r.chans[:0], subTokens: r.subTokens[:0],
		rawSubTokens: r.rawSubTokens[:0], present: r.present[:0],
		targets: r.targets[:0], results: r.results[:0]}
}

// addChan appends a channel to read and returns it.
func (r *request) addChan(name string) *chanRead {
	if len(r.chans) < cap(r.chans) {
		r.chans = r.chans[:len(r.chans)+1]
	} else {
		r.chans = append(r.chans, chanRead{})
	}
	c := &r.chans[len(r.chans)-1]
	pubs := c.pubs[:0]
	*c = chanRead{name: name, pubs: pubs}
	return c
}

// newRequest takes a request from the loop's free list for s.
func (s *session) newRequest(o op) *request {
	l := s.loop
	r := l.freeReqs
	if r != nil {
		l.freeReqs = r.next
		r.next = nil
	} else {
		r = &request{}
	}
	r.s, r.gen, r.op = s, s.gen, o
	if o == opInbox && r.inbox == nil {
		r.inbox = new(inboxCall)
	}
	return r
}

// release returns r to its loop's free list. Loop-owned.
func (l *loop) release(r *request) {
	for i := range r.chans {
		if cap(r.chans[i].pubs) > 1024 {
			r.chans[i].pubs = nil // a rare huge read: let it go
		}
	}
	r.reset()
	r.next = l.freeReqs
	l.freeReqs = r
}

// submit runs r: at once when the engine never blocks, else on a worker,
// completing on the loop later. Loop-owned; the caller has finished with
// the session's current input (the completion may write to it).
func (s *session) submit(r *request) {
	srv := s.loop.srv
	if srv.inline {
		r.run(srv)
		s.loop.complete(r)
		return
	}
	r.async = true
	s.inflight++
	select {
	case srv.work <- r:
	default:
		// The node-wide queue is full: refuse instead of queueing without
		// bound.
		r.err = protocol.ErrBusy
		for i := range r.chans {
			r.chans[i].err = protocol.ErrBusy
		}
		s.loop.complete(r)
	}
}

// workers runs queued requests until the server stops.
type workers struct {
	wg sync.WaitGroup
}

func (w *workers) start(srv *Server, queue chan *request, n int) {
	for range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for r := range queue {
				r.run(srv)
				r.s.loop.post(nil, r)
			}
		}()
	}
}

// run does r's work. It may block: it runs on a worker, or on the loop
// when the engine is Inline.
func (r *request) run(srv *Server) {
	ctx, cancel := srv.callContext()
	defer cancel()
	defer srv.stats.endCall(r.op, srv.stats.now())
	b := srv.conf().Broker
	switch r.op {
	case opPublish:
		if len(r.targets) > 0 {
			r.runPublishMany(ctx, srv)
			break
		}
		r.pos, r.err = b.Publish(ctx, r.channel, r.data, r.opts)
	case opAuth:
		r.ident, r.err = srv.conf().Auth.Hook.Authenticate(ctx, r.hook)
	case opPresence:
		r.runPresenceQuery(ctx, srv)
	case opInbox:
		r.runInbox(ctx, srv)
	case opRead, opJoin:
		for i := range r.chans {
			c := &r.chans[i]
			if r.op == opJoin && c.interest != nil {
				if c.err = srv.awaitInterest(ctx, c.interest, c.created); c.err != nil {
					continue
				}
			}
			ttl := srv.conf().HistoryTTL.Milliseconds()
			if c.fromDevice || c.ackSince {
				ttl = inboxTTL
				if c.err = r.devicePosition(ctx, srv, c); c.err != nil {
					continue
				}
			}
			c.err = readRecovery(ctx, b, c, r.limit, ttl)
		}
	}
}

// callContext bounds one engine call. An inline engine never waits, so it
// gets no timer (and no allocation).
func (srv *Server) callContext() (context.Context, context.CancelFunc) {
	if srv.inline {
		return context.Background(), func() {}
	}
	return context.WithTimeout(context.Background(), srv.conf().BrokerTimeout)
}

// submitAuth asks the connect hook, on a worker even with an Inline
// engine (it calls the backend), and goes on with then.
func (s *session) submitAuth(hook auth.HookRequest, then *request) {
	r := s.newRequest(opAuth)
	r.hook, r.then = hook, then
	r.async = true
	s.inflight++
	select {
	case s.loop.srv.authWork <- r:
	default:
		r.err = &auth.Error{Kind: auth.ErrUnavailable, Reason: "server busy"}
		s.loop.complete(r)
	}
}

// awaitInterest makes sure the node's engine subscription to the channel
// is active: the interest's creator subscribes, everyone else waits for
// it. Only then may a join read history.
func (srv *Server) awaitInterest(ctx context.Context, it *interest, created bool) error {
	if created {
		if err := srv.conf().Broker.Subscribe(ctx, it.name); err != nil {
			srv.interest.fail(it, err)
			return err
		}
		srv.interest.settle(it, nil)
		return nil
	}
	return srv.interest.await(ctx, it)
}

// readRecovery reads channel c after the client's position and applies
// the recovery rule; when the rule says the publications read are of no
// use (another epoch), it reads again after the rule's position.
func readRecovery(ctx context.Context, b broker.Broker, c *chanRead, limit int, ttl int64) error {
	var err error
	after := c.since.Seq
	if !c.hasSince {
		limit = 0 // from now: the stream's state is all it needs
	}
	c.pubs, c.st, err = b.History(ctx, c.name, broker.HistoryOptions{After: after, Limit: limit}, c.pubs[:0])
	if err != nil {
		return err
	}
	if !c.hasSince {
		c.rec = protocol.Recovery{After: c.st.Top}
		return nil
	}
	c.rec = protocol.Recover(c.since, c.st, ttl)
	if c.rec.Reread {
		clear(c.pubs)
		c.pubs, c.st, err = b.History(ctx, c.name, broker.HistoryOptions{After: c.rec.After, Limit: limit}, c.pubs[:0])
	}
	return err
}
