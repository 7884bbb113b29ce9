package memory

import (
	"context"
	"sync"
	"time"

	"github.com/comet-im/comet/broker"
)

// Presence is broker.Presence in process memory: per channel, the entries
// of the connections present, each with an expiry. Expired entries are
// dropped when their channel is read or written; a channel with no entry
// left holds nothing.
type Presence struct {
	now func() time.Time
	mu  sync.Mutex
	// Entries by pointer: a map keeps at least a group of eight slots,
	// and most channels with presence (personal channels) hold one
	// connection: eight 24-byte slots instead of eight 96-byte ones, about
	// 700 bytes less per connection.
	chs map[string]map[string]*presenceEntry
}

type presenceEntry struct {
	info    broker.PresenceInfo
	expires int64 // Unix ms
}

// Inline marks the table as one that never blocks: the node calls it
// from its event loops.
func (p *Presence) Inline() {}

// NewPresence returns an empty presence table; now nil means time.Now.
func NewPresence(now func() time.Time) *Presence {
	if now == nil {
		now = time.Now
	}
	return &Presence{now: now, chs: make(map[string]map[string]*presenceEntry)}
}

// AddPresence adds or refreshes info.Conn's entry in channel for ttl.
func (p *Presence) AddPresence(_ context.Context, channel string, info broker.PresenceInfo, ttl time.Duration) (bool, error) {
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.chs[channel]
	if m == nil {
		m = make(map[string]*presenceEntry)
		p.chs[string([]byte(channel))] = m
	}
	expires := now + ttl.Milliseconds()
	if e := m[info.Conn]; e != nil {
		fresh := e.expires < now
		e.info, e.expires = info, expires
		return fresh, nil
	}
	m[info.Conn] = &presenceEntry{info: info, expires: expires}
	return true, nil
}

// RemovePresence removes connection conn's entry from channel.
func (p *Presence) RemovePresence(_ context.Context, channel, conn string) (bool, error) {
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.removeLocked(channel, conn, func(e *presenceEntry) bool { return e.expires >= now }), nil
}

// ExpirePresence removes conn's entry from channel if it has expired.
func (p *Presence) ExpirePresence(_ context.Context, channel, conn string) (bool, error) {
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.chs[channel]
	if e, ok := m[conn]; !ok || e.expires >= now {
		return false, nil
	}
	return p.removeLocked(channel, conn, func(*presenceEntry) bool { return true }), nil
}

// removeLocked removes conn's entry and reports whether counted said it
// was one to count.
func (p *Presence) removeLocked(channel, conn string, counted func(*presenceEntry) bool) bool {
	m := p.chs[channel]
	e, ok := m[conn]
	if !ok {
		return false
	}
	delete(m, conn)
	if len(m) == 0 {
		delete(p.chs, channel)
	}
	return counted(e)
}

// Presence appends channel's live entries to dst.
func (p *Presence) Presence(_ context.Context, channel string, dst []broker.PresenceInfo) ([]broker.PresenceInfo, error) {
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.liveLocked(channel, now) {
		dst = append(dst, e.info)
	}
	return dst, nil
}

// PresenceStats counts channel's live entries and their distinct users.
func (p *Presence) PresenceStats(_ context.Context, channel string) (broker.PresenceStats, error) {
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.liveLocked(channel, now)
	users := make(map[string]struct{}, len(m))
	for _, e := range m {
		users[e.info.User] = struct{}{}
	}
	return broker.PresenceStats{Connections: len(m), Users: len(users)}, nil
}

// liveLocked drops channel's expired entries and returns the rest.
func (p *Presence) liveLocked(channel string, now int64) map[string]*presenceEntry {
	m := p.chs[channel]
	for k, e := range m {
		if e.expires < now {
			delete(m, k)
		}
	}
	if m != nil && len(m) == 0 {
		delete(p.chs, channel)
		return nil
	}
	return m
}
