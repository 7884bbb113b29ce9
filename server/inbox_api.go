package server

import (
	"strconv"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// The backend's inbox API (docs/INBOX.md, "API"), behind the API key:
//
//	GET    /api/inbox?user=U[&after=CONV]              state, unread counts, devices, conversations
//	GET    /api/inbox/entries?user=U[&after=N][&limit=L] the log, paged
//	DELETE /api/inbox?user=U                           everything kept for U (data-protection requests)
//	DELETE /api/inbox/device?user=U&device=D           forget one device's position

// maxAPIEntries bounds one page of GET /api/inbox/entries.
const maxAPIEntries = 1000

// apiInbox serves the inbox API.
func (s *session) apiInbox(env *conn.Env, req *codec.Request) {
	s.beginHTTP(req, "")
	if !s.apiAuthorized(req) {
		s.apiError(protocol.ErrUnauthorized, []byte("WWW-Authenticate: Bearer\r\n"))
		return
	}
	if s.loop.srv.conf().Inbox == nil {
		s.apiError(errNoInbox, nil)
		return
	}
	l := s.loop
	user, _, _ := req.QueryValue(l.scratch[:0], "user")
	u := string(user)
	if !auth.ValidUserID(u) {
		s.apiError(errBadUser, nil)
		return
	}
	path, method := string(req.Path), string(req.Method)
	var op inboxOp
	var device string
	var args func(*inboxCall)
	switch {
	case path == "/api/inbox" && method == "GET":
		after, _, _ := req.QueryValue(nil, "after")
		op, args = inboxAPIState, func(c *inboxCall) { c.conv = string(after) }
	case path == "/api/inbox/entries" && method == "GET":
		after, e1 := queryUint(req, "after", 0)
		limit, e2 := queryUint(req, "limit", 100)
		if e1 != nil || e2 != nil || limit == 0 || limit > maxAPIEntries {
			s.apiError(&protocol.Error{Code: 400, Reason: "after and limit (1 to 1000) are integers"}, nil)
			return
		}
		op, args = inboxAPIRead, func(c *inboxCall) { c.seq, c.limit = after, int(limit) }
	case path == "/api/inbox" && method == "DELETE":
		op, args = inboxAPIDelete, func(*inboxCall) {}
	case path == "/api/inbox/device" && method == "DELETE":
		d, _, _ := req.QueryValue(nil, "device")
		if device = string(d); !auth.ValidUserID(device) {
			s.apiError(errNoDevice, nil)
			return
		}
		op, args = inboxAPIDevice, func(*inboxCall) {}
	case path == "/api/inbox/device":
		s.respondText(env, 405, []byte("Allow: DELETE\r\n"))
		return
	case path == "/api/inbox":
		s.respondText(env, 405, []byte("Allow: GET, DELETE\r\n"))
		return
	default:
		s.respondText(env, 405, []byte("Allow: GET\r\n"))
		return
	}
	s.park(kindHTTP)
	s.submitInbox(op, u, device, "", fromAPI, args)
}

// queryUint reads an optional decimal parameter.
func queryUint(req *codec.Request, key string, def uint64) (uint64, error) {
	v, ok, err := req.QueryValue(nil, key)
	if err != nil || !ok {
		return def, err
	}
	return strconv.ParseUint(string(v), 10, 64)
}

// onInboxAPI answers an inbox API call.
func (s *session) onInboxAPI(r *request) {
	c := r.inbox
	b := append(s.scratch(), `{"user":`...)
	b = protocol.AppendJSONString(b, r.user)
	switch c.op {
	case inboxAPIState:
		st := &c.state
		b = append(b, `,"epoch":"`...)
		b = strconv.AppendUint(b, st.Epoch, 10)
		b = append(b, '"')
		b = appendUintField(b, "oldest", st.Oldest)
		b = appendUintField(b, "dropped", st.Dropped)
		b = appendUintField(b, "bytes", st.Bytes)
		b = appendUnreadBody(b, st, &c.convs)
		b = append(b, `,"devices":[`...)
		for i, d := range c.devices {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"device":`...)
			b = protocol.AppendJSONString(b, d.ID)
			b = appendUintField(b, "acked", d.Acked)
			b = appendUintField(b, "pending", d.Pending)
			b = appendUintField(b, "gap", d.Gap)
			b = append(b, `,"last_seen":`...)
			b = strconv.AppendInt(b, d.LastSeen.UnixMilli(), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	case inboxAPIRead:
		p := &c.page
		b = appendUintField(b, "next", p.Next)
		b = append(b, `,"more":`...)
		b = strconv.AppendBool(b, p.More)
		b = appendUintField(b, "gap", p.Gap)
		b = appendUintField(b, "top", p.State.Top)
		b = append(b, `,"entries":[`...)
		for i := range p.Entries {
			e := &p.Entries[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"seq":`...)
			b = strconv.AppendUint(b, e.Seq, 10)
			b = append(b, `,"ts":`...)
			b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
			b = append(b, `,"conv":`...)
			b = protocol.AppendJSONString(b, e.Conversation)
			if e.From != "" {
				b = append(b, `,"from":`...)
				b = protocol.AppendJSONString(b, e.From)
			}
			if e.FromDevice != "" {
				b = append(b, `,"device":`...)
				b = protocol.AppendJSONString(b, e.FromDevice)
			}
			b = append(b, `,"data":`...)
			b = append(b, e.Payload...)
			b = append(b, '}')
		}
		b = append(b, ']')
	case inboxAPIDelete:
		b = append(b, `,"deleted":true`...)
	case inboxAPIDevice:
		b = append(b, `,"device":`...)
		b = protocol.AppendJSONString(b, r.device)
		b = append(b, `,"forgotten":true`...)
	}
	b = append(b, '}')
	s.loop.replyBuf = b
	s.respondJSON(200, b, false)
}
