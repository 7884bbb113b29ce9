package server

import (
	"errors"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/comet-im/comet/protocol"
)

// Publish errors.
var (
	ErrTooManyChannels = errors.New("server: channel limit reached")
	ErrMessageTooBig   = errors.New("server: message too big")
)

// channel is one pub/sub channel: its sequence, history and the set of event
// loops that have local subscribers. All fields are guarded by mu.
//
// Lock order: registry shard, then channel, then loop mailbox.
type channel struct {
	name string
	mu   sync.Mutex

	epochN uint64 // with the registry's bootID, the epoch (appendEpoch)
	seq    uint64
	hist   *history // nil until the first message: most channels of an idle node have none
	// loopMask has bit i set while loop i has at least one subscriber.
	loopMask uint64
	// lastActive (unix ms) is when the channel last had a publish or lost
	// its last subscriber. The sweeper keeps it HistoryTTL past that, so a
	// poller's cursor stays valid between polls for as long as history is.
	lastActive int64
	// dead is set when the sweeper removed the channel from the registry;
	// a holder of a stale pointer must look the name up again.
	dead bool
}

// history is a bounded ring of the latest messages of a channel.
type history struct {
	ring  []*message
	start int // index of the oldest message
	n     int
}

func (h *history) push(m *message, size int) {
	if h.n == size { // full: overwrite the oldest
		h.ring[h.start] = m
		h.start = (h.start + 1) % len(h.ring)
		return
	}
	if h.n == len(h.ring) {
		// Grow on demand: most channels never fill a large ring.
		grown := make([]*message, min(size, max(8, 2*len(h.ring))))
		for i := 0; i < h.n; i++ {
			grown[i] = h.at(i)
		}
		h.ring, h.start = grown, 0
	}
	h.ring[(h.start+h.n)%len(h.ring)] = m
	h.n++
}

// at returns the i-th oldest message.
func (h *history) at(i int) *message { return h.ring[(h.start+i)%len(h.ring)] }

// expire drops messages published before cutoff (unix ms). A nil history
// is empty.
func (h *history) expire(cutoff int64) {
	if h == nil {
		return
	}
	for h.n > 0 && h.at(0).ts < cutoff {
		h.ring[h.start] = nil
		h.start = (h.start + 1) % len(h.ring)
		h.n--
	}
	if h.n == 0 {
		h.ring, h.start = nil, 0
	}
}

// oldestSeq returns the sequence number of the oldest kept message, or 0.
func (h *history) oldestSeq() uint64 {
	if h == nil || h.n == 0 {
		return 0
	}
	return h.at(0).seq
}

// after appends to dst the kept messages with seq > since, in order.
func (h *history) after(dst []*message, since uint64) []*message {
	if h == nil {
		return dst
	}
	for i := 0; i < h.n; i++ {
		if m := h.at(i); m.seq > since {
			dst = append(dst, m)
		}
	}
	return dst
}

const registryShards = 64

// registry maps channel names to channels, sharded to keep lock hold times
// short when many loops publish and subscribe at once.
type registry struct {
	seed   maphash.Seed
	shards [registryShards]struct {
		mu sync.Mutex
		m  map[string]*channel
	}
	count   atomic.Int64
	created atomic.Uint64 // feeds epochs
	bootID  string
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = make(map[string]*channel)
	}
	// Epochs must differ across restarts so a client's since from an
	// earlier process is never mistaken for one of this process.
	r.bootID = strconv.FormatInt(time.Now().UnixNano(), 36)
	return r
}

// appendEpoch appends the epoch of ch: the boot id and the channel's
// creation number, so it differs across restarts and re-creations.
func (r *registry) appendEpoch(dst []byte, ch *channel) []byte {
	dst = append(dst, r.bootID...)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, ch.epochN, 36)
}

// lookup returns the channel, creating it when create is set and the
// channel limit allows; it returns nil when absent. name is only read: a
// hit allocates nothing (HTTP transports pass bytes of the request).
func (r *registry) lookup(name []byte, create bool, limit int) (*channel, error) {
	sh := &r.shards[maphash.Bytes(r.seed, name)%registryShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ch := sh.m[string(name)]; ch != nil || !create {
		return ch, nil
	}
	if r.count.Load() >= int64(limit) {
		return nil, ErrTooManyChannels
	}
	ch := &channel{name: string(name), lastActive: time.Now().UnixMilli()}
	ch.epochN = r.created.Add(1)
	sh.m[ch.name] = ch
	r.count.Add(1)
	return ch, nil
}

// lockChannel returns the live channel name, created if needed, locked.
func (r *registry) lockChannel(name []byte, limit int) (*channel, error) {
	for {
		ch, err := r.lookup(name, true, limit)
		if err != nil {
			return nil, err
		}
		ch.mu.Lock()
		if !ch.dead {
			return ch, nil
		}
		ch.mu.Unlock()
	}
}

// bytesOf views s as bytes without copying, for read-only use.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// sweep drops the channels of shard i that have no subscribers and
// nothing left in history. It runs off the event loops, on the ticker
// goroutine, one shard per tick: a pass over a million channels at once
// would hold shard locks long enough for publishers to notice.
func (r *registry) sweep(i int, cutoff int64) {
	sh := &r.shards[i%registryShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for name, ch := range sh.m {
		ch.mu.Lock()
		ch.hist.expire(cutoff)
		if ch.hist != nil && ch.hist.n == 0 {
			ch.hist = nil
		}
		if ch.loopMask == 0 && ch.hist == nil && ch.lastActive < cutoff {
			ch.dead = true
			delete(sh.m, name)
			r.count.Add(-1)
		}
		ch.mu.Unlock()
	}
}

// Publish assigns the next sequence number of channel name to data
// (compact JSON), stores it in history and hands it to every event loop
// with subscribers. It may be called from any goroutine; it returns the
// assigned sequence number.
func (s *Server) Publish(name string, data []byte) (uint64, error) {
	if !protocol.ValidChannel(name) {
		return 0, protocol.ErrBadChannel
	}
	if len(data) > s.cfg.MaxMessageBytes {
		return 0, ErrMessageTooBig
	}
	ch, err := s.channels.lockChannel(bytesOf(name), s.cfg.MaxChannels)
	if err != nil {
		return 0, err
	}
	now := time.Now().UnixMilli()
	ch.lastActive = now
	ch.seq++
	m := newMessage(ch, ch.seq, now, data)
	if s.cfg.HistorySize > 0 {
		if ch.hist == nil {
			ch.hist = new(history)
		}
		ch.hist.expire(now - s.cfg.HistoryTTL.Milliseconds())
		ch.hist.push(m, s.cfg.HistorySize)
	}
	// Enqueue while holding the channel lock: every loop's mailbox then
	// receives this channel's messages in sequence order.
	var kick uint64
	if mask := ch.loopMask; mask != 0 {
		loops := *s.loops.Load()
		for i := range loops {
			if mask&(1<<i) != 0 && loops[i].enqueue(m) {
				kick |= 1 << i
			}
		}
	}
	seq := ch.seq
	ch.mu.Unlock()
	if kick != 0 {
		loops := *s.loops.Load()
		for i := range loops {
			if kick&(1<<i) != 0 {
				loops[i].kick()
			}
		}
	}
	s.stats.published.Add(1)
	return seq, nil
}
