package server

import (
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// Direct messages from clients: {"op":"dm","to":"bob","data":…} from a
// signed-in user is one publication to both participants' personal
// channels (to every device of both), in the conversation
// dmConversation(me, bob), from me. With an inbox it is one atomic append
// to both logs (broker.Fanout); the answer's seq is the sender's. Any
// signed-in user may write to any user; the publish rate and size limits
// of pub apply.

// dm serves the dm op on a WebSocket.
func (s *session) dm(env *conn.Env, m *protocol.ClientMessage, from publishFrom) {
	r, e := s.dmRequest(m, from)
	if e == nil {
		e = s.planDM(r)
	}
	if e != nil {
		if r != nil {
			s.loop.release(r)
		}
		s.publishFailed(env, m.ID, from, e)
		return
	}
	s.submit(r)
}

// sendDM serves the dm op of POST /send: the client is known once the
// request is admitted (proceed calls planDM).
func (s *session) sendDM(req *codec.Request, m *protocol.ClientMessage) {
	r, e := s.dmRequest(m, fromSend)
	if e != nil {
		s.publishFailed(&s.loop.env, m.ID, fromSend, e)
		return
	}
	s.admit(req, "send", r)
}

// dmRequest checks what a dm op may be refused for before its sender is
// known, and makes its request.
func (s *session) dmRequest(m *protocol.ClientMessage, from publishFrom) (*request, *protocol.Error) {
	if e := s.admitPublish(len(m.Data)); e != nil {
		return nil, e
	}
	r := s.newRequest(opPublish)
	r.data, r.id, r.from, r.echo, r.idem, r.dm = m.Data, m.ID, from, m.Echo, m.Idem, true
	r.to = m.To
	return r, nil
}

// planDM names a DM's targets and conversation for its (known) sender.
func (s *session) planDM(r *request) *protocol.Error {
	if s.who == nil || s.who.personal == "" {
		return errAnonymous
	}
	me := s.who.id.User
	conv, ok := dmConversation(me, r.to)
	if !ok {
		return errDMTooLong
	}
	theirs, e := s.personalOf(r.to)
	if e != nil {
		return e
	}
	r.targets = append(r.targets[:0], s.who.personal)
	if theirs != s.who.personal {
		r.targets = append(r.targets, theirs)
	}
	r.channel = r.targets[0]
	s.stampPublish(r)
	r.opts.Conversation = conv
	return nil
}
