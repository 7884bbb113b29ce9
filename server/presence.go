package server

import (
	"context"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/notify"
	"github.com/comet-im/comet/protocol"
)

// Presence (docs/AUTH.md, "Presence"). A connection is present in the
// channels it is subscribed to whose namespace turns presence on, and in
// its personal channel, which is how the node tells whether a user is
// online. Entries live PresenceTTL in the engine's presence store; the
// loops refresh their connections' entries every third of it, and a
// long-poller refreshes them with every poll, so a poller that stops is
// gone within PresenceTTL: the node that saw it last asks the store to
// expire its entries, and announces the leave if the store says they
// had expired.
//
// All presence work runs on one goroutine, fed by a bounded queue: it
// calls the presence store and the engine (join and leave events are
// ephemeral publications) and the webhook, none of which an event loop may
// wait for. Presence is best effort: a full queue drops work (counted),
// and entries expire by themselves.

// presenceJob is one piece of presence work.
type presenceJob struct {
	op      presenceOp
	channel string
	info    broker.PresenceInfo
}

type presenceOp uint8

const (
	presenceAdd    presenceOp = iota // a connection joined (or refreshes)
	presenceRemove                   // a connection left
	presenceTouch                    // a long-poll came: add, and expire it later unless it comes again
)

// presenceQueueSize bounds the presence work waiting.
const presenceQueueSize = 1 << 16

// tracked reports whether channel keeps presence: its namespace says so,
// or it is a personal channel.
func (srv *Server) tracked(channel string) bool {
	p := srv.conf().Auth.Policy
	if p == nil || srv.conf().Presence == nil {
		return false
	}
	if _, ok := p.PersonalUser(channel); ok {
		return true
	}
	return p.Namespace(channel).Presence
}

// presenceInfo is s's entry in a channel.
func (s *session) presenceInfo() broker.PresenceInfo {
	w := s.who
	return broker.PresenceInfo{
		ClientInfo: broker.ClientInfo{User: w.id.User, Client: w.id.Client, Conn: w.conn},
		Transport:  transports[s.kind].name,
		Since:      s.loop.nowMillis(),
	}
}

// presenceJoined notes that s's subscription to channel is live.
func (s *session) presenceJoined(channel string) {
	if s.who == nil || !s.loop.srv.tracked(channel) {
		return
	}
	op := presenceAdd
	if s.kind == kindPoll {
		op = presenceTouch
	}
	s.loop.srv.queuePresence(presenceJob{op: op, channel: channel, info: s.presenceInfo()})
}

// presenceLeft notes that s left channel. A long-poll leaves after every
// answer; its entry stays until it stops polling.
func (s *session) presenceLeft(channel string) {
	if s.who == nil || s.kind == kindPoll || !s.loop.srv.tracked(channel) {
		return
	}
	s.loop.srv.queuePresence(presenceJob{op: presenceRemove, channel: channel,
		info: broker.PresenceInfo{ClientInfo: broker.ClientInfo{User: s.who.id.User, Conn: s.who.conn}}})
}

// queuePresence hands a job to the presence goroutine, or drops it when
// the queue is full. Any goroutine.
func (srv *Server) queuePresence(j presenceJob) {
	select {
	case srv.presenceJobs <- j:
	default:
		srv.stats.presenceDropped.Add(1)
	}
}

// refreshPresence re-adds the entries of the loop's connections (every
// third of PresenceTTL, from the tick).
func (l *loop) refreshPresence() {
	srv := l.srv
	if srv.conf().Presence == nil || srv.conf().Auth.Policy == nil {
		return
	}
	now := l.nowMillis()
	if now < l.presenceAt {
		return
	}
	l.presenceAt = now + srv.conf().PresenceTTL.Milliseconds()/3
	for _, s := range l.sessions {
		if s.who == nil || s.kind == kindPoll || s.isGone() {
			continue
		}
		for i := range s.subs {
			if ss := &s.subs[i]; ss.join == nil && srv.tracked(ss.lc.name) {
				srv.queuePresence(presenceJob{op: presenceAdd, channel: ss.lc.name, info: s.presenceInfo()})
			}
		}
	}
}

// presenceWorker runs presence jobs until stop is closed.
func (srv *Server) presenceWorker(stop <-chan struct{}) {
	defer srv.sweepDone.Done()
	ttl := srv.conf().PresenceTTL
	polls := map[pollKey]pollSeen{} // long-pollers this node saw, by connection and channel
	t := time.NewTicker(max(ttl/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case j := <-srv.presenceJobs:
			srv.runPresence(j, polls)
		case <-t.C:
			srv.expirePolls(polls)
		}
	}
}

type pollKey struct{ conn, channel string }

type pollSeen struct {
	user string
	at   time.Time
}

// runPresence does one job.
func (srv *Server) runPresence(j presenceJob, polls map[pollKey]pollSeen) {
	ctx, cancel := context.WithTimeout(context.Background(), srv.conf().BrokerTimeout)
	defer cancel()
	p := srv.conf().Presence
	switch j.op {
	case presenceAdd, presenceTouch:
		if j.op == presenceTouch {
			polls[pollKey{j.info.Conn, j.channel}] = pollSeen{user: j.info.User, at: srv.conf().Now()}
		}
		added, err := p.AddPresence(ctx, j.channel, j.info, srv.conf().PresenceTTL)
		if err == nil && added {
			srv.announce(ctx, j.channel, "join", j.info)
		}
	case presenceRemove:
		removed, err := p.RemovePresence(ctx, j.channel, j.info.Conn)
		if err == nil && removed {
			srv.announce(ctx, j.channel, "leave", j.info)
		}
	}
}

// expirePolls asks the store to expire the entries of long-pollers this
// node has not seen for PresenceTTL.
func (srv *Server) expirePolls(polls map[pollKey]pollSeen) {
	cutoff := srv.conf().Now().Add(-srv.conf().PresenceTTL)
	for k, seen := range polls {
		if seen.at.After(cutoff) {
			continue
		}
		delete(polls, k)
		ctx, cancel := context.WithTimeout(context.Background(), srv.conf().BrokerTimeout)
		expired, err := srv.conf().Presence.ExpirePresence(ctx, k.channel, k.conn)
		if err == nil && expired {
			info := broker.PresenceInfo{ClientInfo: broker.ClientInfo{User: seen.user, Conn: k.conn}, Transport: "poll"}
			srv.announce(ctx, k.channel, "leave", info)
		}
		cancel()
	}
}

// announce publishes a join or leave to the channel's subscribers where its
// namespace asks for them, and tells the webhook when a user's first
// connection came or last one went.
func (srv *Server) announce(ctx context.Context, channel, what string, info broker.PresenceInfo) {
	p := srv.conf().Auth.Policy
	if user, personal := p.PersonalUser(channel); personal && srv.conf().Auth.Webhook != nil {
		st, err := srv.conf().Presence.PresenceStats(ctx, channel)
		switch {
		case err != nil:
		case what == "join" && st.Connections == 1:
			srv.conf().Auth.Webhook.Notify(notify.Event{Kind: notify.Online, User: user, At: srv.conf().Now(), Connections: 1})
		case what == "leave" && st.Connections == 0:
			srv.conf().Auth.Webhook.Notify(notify.Event{Kind: notify.Offline, User: user, At: srv.conf().Now()})
		}
	}
	if !p.Namespace(channel).JoinLeave {
		return
	}
	data := append([]byte(`{"`+what+`":`), appendPresenceJSON(nil, info)...)
	data = append(data, '}')
	_, _ = srv.conf().Broker.Publish(ctx, channel, data, broker.PublishOptions{Ephemeral: true,
		Publisher: &broker.ClientInfo{User: info.User, Client: info.Client, Conn: info.Conn}})
}

// appendPresenceJSON appends {"user":…,"client":…,"conn":…,"transport":…,"since":…}.
func appendPresenceJSON(dst []byte, info broker.PresenceInfo) []byte {
	dst = append(dst, `{"user":`...)
	dst = protocol.AppendJSONString(dst, info.User)
	if info.Client != "" {
		dst = append(dst, `,"client":`...)
		dst = protocol.AppendJSONString(dst, info.Client)
	}
	dst = append(dst, `,"conn":`...)
	dst = protocol.AppendJSONString(dst, info.Conn)
	if info.Transport != "" {
		dst = append(dst, `,"transport":`...)
		dst = protocol.AppendJSONString(dst, info.Transport)
	}
	if info.Since != 0 {
		dst = append(dst, `,"since":`...)
		dst = appendInt(dst, int(info.Since))
	}
	return append(dst, '}')
}
