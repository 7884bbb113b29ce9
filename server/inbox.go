package server

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/protocol"
)

// The inbox (docs/INBOX.md): with Config.Inbox set, every user's personal
// channel is that user's durable log (the engine serves it: see
// inbox/personal), and the node adds what a log has that a channel has
// not: each device's acknowledged position (the ack op, and every cursor
// an HTTP transport brings), read markers per conversation with "seen"
// receipts, unread counts, and the backend's inbox API. A device that
// connects without a position for its personal channel starts after its
// acknowledged one: it gets everything it has not acknowledged, paged, in
// order, then live messages, with no gap and no duplicate at the seam
// (the one join path of join.go). Every inbox call runs on a worker.

// inboxTTL stands for "forever" where Recover compares a position with
// an empty epoch against a log: a log's epoch changes only when its user
// is deleted, not when a cache expires.
const inboxTTL = math.MaxInt64 / 4

// inboxOp names an inbox call.
type inboxOp uint8

const (
	inboxAck       inboxOp = iota + 1 // move a device's position
	inboxMarkRead                     // move a read marker; tell the other devices and the DM's peer
	inboxUnread                       // the user's unread counts
	inboxAPIState                     // GET /api/inbox
	inboxAPIRead                      // GET /api/inbox/entries
	inboxAPIDelete                    // DELETE /api/inbox
	inboxAPIDevice                    // DELETE /api/inbox/device: forget a device
)

// inboxCall is an opInbox request's arguments and results.
type inboxCall struct {
	op    inboxOp
	conn  string // the connection asking: its own read events are not sent back to it
	conv  string // read marker; unread and API: list conversations after it
	seq   uint64 // ack, read marker; API read: after
	limit int    // API read

	dev     inbox.Device
	devices []inbox.Device
	marked  inbox.Marked
	state   inbox.State
	convs   inbox.ConversationPage
	page    inbox.Page
}

func (c *inboxCall) reset() {
	clear(c.devices)
	clear(c.convs.Conversations)
	clear(c.page.Entries)
	*c = inboxCall{devices: c.devices[:0], page: inbox.Page{Entries: c.page.Entries[:0]}}
}

// maxUnreadList bounds the conversations one unread answer lists.
const maxUnreadList = 100

var (
	errNoInbox    = &protocol.Error{Code: 501, Reason: "this node keeps no inbox"}
	errNoDevice   = &protocol.Error{Code: 400, Reason: "no device id: the token names no client, and the request no device="}
	errNotYours   = &protocol.Error{Code: 403, Reason: "only your own personal channel"}
	errAnonymous  = &protocol.Error{Code: 403, Reason: "sign in first"}
	errNotFound   = &protocol.Error{Code: 404, Reason: "not found"}
	errDMTooLong  = &protocol.Error{Code: 400, Reason: "user id too long for a DM (at most 60 bytes)"}
	errNotPresent = &protocol.Error{Code: 400, Reason: "bad inbox request"}
)

// device returns the session's device id: the token's client id, or the
// request's device= parameter; "" when neither names one.
func (s *session) device() string {
	if s.who == nil {
		return ""
	}
	if s.who.id.Client != "" {
		return s.who.id.Client
	}
	return s.who.device
}

// inboxRequest turns an ack, read or unread op into an opInbox request.
func (s *session) inboxRequest(m *protocol.ClientMessage, from publishFrom) *request {
	r := s.newRequest(opInbox)
	r.id, r.from, r.channel = m.ID, from, m.Channel
	c := r.inbox
	switch m.Op {
	case protocol.OpAck:
		c.op, c.seq = inboxAck, m.Seq
		if !m.HasSeq {
			r.err = protocol.ErrMissingSeq
		}
	case protocol.OpRead:
		c.op, c.conv, c.seq = inboxMarkRead, m.Conv, m.Seq
	case protocol.OpUnread:
		c.op, c.conv = inboxUnread, m.Conv
	}
	return r
}

// inboxProceed checks an ack, read or unread request of a known client
// and submits it. Acks without an id over a WebSocket are coalesced:
// while one is stored, later ones only raise the position the next one
// stores.
func (s *session) inboxProceed(r *request) {
	var e *protocol.Error
	switch {
	case s.loop.srv.conf().Inbox == nil:
		e = errNoInbox
	case s.who == nil || s.who.personal == "":
		e = errAnonymous
	case r.err != nil:
		e = protocol.ErrorOf(r.err)
	case r.inbox.op == inboxAck && r.channel != s.who.personal:
		e = errNotYours
	case r.inbox.op == inboxAck && s.device() == "":
		e = errNoDevice
	case !coalescedAck(r) && s.admitPublish(0) != nil:
		// Each op is a store read or write (bbolt has one writer for all
		// users): one client's flood of them takes from the same bucket as
		// its publishes. Coalesced acks need no token: one at a time per
		// connection, and a refused ack would stop a client's acks.
		e = protocol.ErrRateLimited
	}
	if e != nil {
		id, from := r.id, r.from
		s.loop.release(r)
		s.inboxFailed(&s.loop.env, id, from, e)
		return
	}
	r.user, r.device, r.inbox.conn = s.who.id.User, s.device(), s.who.conn
	if coalescedAck(r) {
		if s.has(flagAcking) {
			s.who.ackNext = max(s.who.ackNext, r.inbox.seq)
			s.loop.release(r)
			return
		}
		s.flags |= flagAcking
	}
	s.submit(r)
}

// coalescedAck reports whether r is an ack that is coalesced with the
// next ones: without an id, over a WebSocket.
func coalescedAck(r *request) bool {
	return r.inbox.op == inboxAck && r.id == "" && r.from == fromWebSocket
}

// submitInbox queues one inbox call for user (the backend API's).
func (s *session) submitInbox(op inboxOp, user, device, id string, from publishFrom, args func(*inboxCall)) {
	r := s.newRequest(opInbox)
	r.user, r.device, r.id, r.from = user, device, id, from
	r.inbox.op = op
	args(r.inbox)
	s.submit(r)
}

// inboxFailed answers a refused inbox request on its transport.
func (s *session) inboxFailed(env *conn.Env, id string, from publishFrom, e *protocol.Error) {
	switch from {
	case fromWebSocket:
		s.replyErr(env, id, e)
	case fromSend:
		s.respondJSON(200, protocol.AppendError(s.scratch(), id, e), true)
	default:
		s.apiError(e, nil)
	}
}

// runInbox does r's inbox call, on a worker.
func (r *request) runInbox(ctx context.Context, srv *Server) {
	in := srv.conf().Inbox
	c := r.inbox
	var err error
	switch c.op {
	case inboxAck:
		c.dev, err = in.Ack(ctx, r.user, r.device, c.seq)
	case inboxMarkRead:
		c.marked, err = in.MarkRead(ctx, r.user, c.conv, c.seq)
		if err == nil && c.marked.Read > c.marked.Previous {
			srv.announceRead(ctx, r.user, c.conn, &c.marked)
		}
	case inboxUnread, inboxAPIState:
		if c.state, err = in.State(ctx, r.user); err == nil {
			c.convs, err = in.Conversations(ctx, r.user, c.conv, maxUnreadList)
		}
		if err == nil && c.op == inboxAPIState {
			c.devices, err = in.Devices(ctx, r.user)
		}
	case inboxAPIRead:
		c.page, err = in.Read(ctx, r.user, c.seq, c.limit)
	case inboxAPIDelete:
		err = in.DeleteUser(ctx, r.user)
	case inboxAPIDevice:
		err = in.ForgetDevice(ctx, r.user, r.device)
	}
	r.err = err
}

// announceRead tells the user's devices that a conversation was read up
// to marked.Read, and, for a DM, tells the other participant what was
// seen ("seen" receipts): the time of the last entry read, since seqs
// differ from log to log and an entry's time is the same in both. Both
// are ephemeral messages on personal channels. Best effort: a failure
// leaves the marker moved.
func (srv *Server) announceRead(ctx context.Context, user, conn string, m *inbox.Marked) {
	cfg := srv.conf()
	b := cfg.Broker
	own, err := cfg.Auth.Policy.PersonalChannel(user)
	if err != nil {
		return
	}
	data := append([]byte(`{"read":{"seq":`), strconv.FormatUint(m.Read, 10)...)
	data = append(data, `,"unread":`...)
	data = append(data, strconv.FormatUint(m.Unread, 10)...)
	data = append(data, "}}"...)
	_, _ = b.Publish(ctx, own, data, broker.PublishOptions{Ephemeral: true, Conversation: m.ID,
		Publisher: &broker.ClientInfo{User: user, Conn: conn}})
	peer, ok := dmPeer(m.ID, user)
	if !ok {
		return
	}
	theirs, err := cfg.Auth.Policy.PersonalChannel(peer)
	if err != nil {
		return
	}
	page, err := cfg.Inbox.Read(ctx, user, m.Read-1, 1)
	if err != nil || len(page.Entries) == 0 || page.Entries[0].Seq != m.Read {
		return
	}
	seen := append([]byte(`{"seen":{"by":`), protocol.AppendJSONString(nil, user)...)
	seen = append(seen, `,"ts":`...)
	seen = append(seen, strconv.FormatInt(page.Entries[0].Time.UnixMilli(), 10)...)
	seen = append(seen, "}}"...)
	_, _ = b.Publish(ctx, theirs, seen, broker.PublishOptions{Ephemeral: true, Conversation: m.ID,
		Publisher: &broker.ClientInfo{User: user}})
}

// onInbox answers an inbox call.
func (s *session) onInbox(r *request) {
	c := r.inbox
	if c.op == inboxAck && r.id == "" && r.from == fromWebSocket {
		s.flags &^= flagAcking
		if r.err == nil && s.who != nil && s.who.ackNext > c.dev.Acked {
			next := s.who.ackNext
			s.who.ackNext = 0
			s.flags |= flagAcking
			s.submitInbox(inboxAck, r.user, r.device, "", fromWebSocket, func(c *inboxCall) { c.seq = next })
		}
		if r.err == nil {
			return // coalesced acks are not answered
		}
	}
	if r.err != nil {
		s.inboxFailed(&s.loop.env, r.id, r.from, inboxError(r.err))
		return
	}
	b := s.scratch()
	switch c.op {
	case inboxAck:
		b = appendOpID(b, "ok", r.id)
		b = appendUintField(b, "seq", c.dev.Acked)
		b = appendUintField(b, "pending", c.dev.Pending)
	case inboxMarkRead:
		b = appendOpID(b, "ok", r.id)
		b = appendUintField(b, "read", c.marked.Read)
		b = appendUintField(b, "unread", c.marked.Unread)
	case inboxUnread:
		b = appendOpID(b, "unread", r.id)
		b = appendUnreadBody(b, &c.state, &c.convs)
	default:
		s.onInboxAPI(r)
		return
	}
	b = append(b, '}')
	if r.from == fromWebSocket {
		if r.id != "" || c.op == inboxUnread {
			s.reply(&s.loop.env, b)
		}
		return
	}
	s.loop.replyBuf = b
	s.respondJSON(200, b, true)
}

// appendOpID appends {"op":OP and, when set, ,"id":ID.
func appendOpID(b []byte, op, id string) []byte {
	b = append(b, `{"op":"`...)
	b = append(b, op...)
	b = append(b, '"')
	if id != "" {
		b = append(b, `,"id":`...)
		b = protocol.AppendJSONString(b, id)
	}
	return b
}

// appendUintField appends ,"name":v.
func appendUintField(b []byte, name string, v uint64) []byte {
	b = append(b, ",\""...)
	b = append(b, name...)
	b = append(b, "\":"...)
	return strconv.AppendUint(b, v, 10)
}

// appendUnreadBody appends ,"total":N,"top":T,"convs":[…] and ,"next" when
// there are more.
func appendUnreadBody(b []byte, st *inbox.State, p *inbox.ConversationPage) []byte {
	b = appendUintField(b, "total", st.Unread)
	b = appendUintField(b, "top", st.Top)
	b = append(b, `,"convs":[`...)
	for i, cv := range p.Conversations {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"conv":`...)
		b = protocol.AppendJSONString(b, cv.ID)
		b = appendUintField(b, "unread", cv.Unread)
		b = appendUintField(b, "read", cv.Read)
		b = appendUintField(b, "last", cv.LastSeq)
		b = append(b, `,"ts":`...)
		b = strconv.AppendInt(b, cv.LastTime.UnixMilli(), 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	if p.Next != "" {
		b = append(b, `,"next":`...)
		b = protocol.AppendJSONString(b, p.Next)
	}
	return b
}

// inboxError maps an inbox failure to what the client is told.
func inboxError(err error) *protocol.Error {
	var arg *inbox.ArgError
	switch {
	case errors.Is(err, inbox.ErrNotFound):
		return errNotFound
	case errors.Is(err, inbox.ErrTooLarge):
		return &protocol.Error{Code: 413, Reason: "too large"}
	case errors.As(err, &arg), errors.Is(err, inbox.ErrInvalid):
		return &protocol.Error{Code: 400, Reason: "invalid argument"}
	case errors.Is(err, inbox.ErrClosed):
		return protocol.ErrEngineDown
	}
	return engineError(err)
}

// devicePosition sets where a personal channel's read starts for the
// device, on a worker: after the device's acknowledged position when the
// request named none (a device seen for the first time is registered at
// the log's top: it starts from now, and from then on nothing is lost
// for it); and it records the position a request named as the device's
// acknowledgement.
func (r *request) devicePosition(ctx context.Context, srv *Server, c *chanRead) error {
	in := srv.conf().Inbox
	if c.ackSince {
		if c.since.Seq > 0 {
			_, _ = in.Ack(ctx, r.user, r.device, c.since.Seq) // best effort: the next one moves it too
		}
		return nil
	}
	d, err := in.Device(ctx, r.user, r.device)
	switch {
	case err == nil:
		c.since, c.hasSince = broker.Position{Seq: d.Acked}, true
		return nil
	case !errors.Is(err, inbox.ErrNotFound):
		return err
	}
	st, err := in.State(ctx, r.user)
	if err != nil {
		return err
	}
	if _, err := in.Ack(ctx, r.user, r.device, st.Top); err != nil {
		return err
	}
	c.since, c.hasSince = broker.Position{Seq: st.Top}, true
	return nil
}

// markDevice notes, for a request about to read channels, which personal
// channel read starts from the device's position or acknowledges one.
func (s *session) markDevice(r *request) {
	if s.loop.srv.conf().Inbox == nil || s.who == nil || s.who.personal == "" || s.device() == "" {
		return
	}
	r.user, r.device = s.who.id.User, s.device()
	for i := range r.chans {
		if c := &r.chans[i]; c.name == s.who.personal {
			c.ackSince = c.hasSince
			c.fromDevice = !c.hasSince
		}
	}
}

// dmMaxUser bounds the user ids of a DM, so that its conversation id fits
// the inbox's 128 bytes.
const dmMaxUser = 60

// dmConversation names the DM between a and b: "dm:" + len(first) + ":" +
// first + ":" + second, the two ids in byte order. The length makes it
// unambiguous, though user ids may hold ':'.
func dmConversation(a, b string) (string, bool) {
	if len(a) > dmMaxUser || len(b) > dmMaxUser {
		return "", false
	}
	if b < a {
		a, b = b, a
	}
	return "dm:" + strconv.Itoa(len(a)) + ":" + a + ":" + b, true
}

// dmPeer returns the other participant of DM conversation conv, or false
// when conv is not a DM of user's.
func dmPeer(conv, user string) (string, bool) {
	rest, ok := strings.CutPrefix(conv, "dm:")
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, ':')
	if i <= 0 {
		return "", false
	}
	n, err := strconv.Atoi(rest[:i])
	rest = rest[i+1:]
	if err != nil || n <= 0 || n+1 >= len(rest) || rest[n] != ':' {
		return "", false
	}
	a, b := rest[:n], rest[n+1:]
	switch user {
	case a:
		return b, auth.ValidUserID(b)
	case b:
		return a, auth.ValidUserID(a)
	}
	return "", false
}
