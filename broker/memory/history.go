package memory

import "github.com/comet-im/comet/broker"

// EntryOverhead is what a message costs in history beyond its payload:
// the publication, the node's envelope around it, and the slots that hold
// them. A message costs its payload twice (the stored data, and the
// node's encoded frame that holds a copy of it) plus EntryOverhead, so
// the byte caps bound what history really holds, for a flood of tiny
// messages as for a few big ones.
const EntryOverhead = 256

// history is a channel's kept publications, a ring in seq order. Seqs in
// it are consecutive: messages leave only from the oldest end.
type history struct {
	ring  []*broker.Publication
	start int // index of the oldest
	n     int
	bytes int // cost of what is kept
}

// Cost is what one message of size bytes counts against the byte caps.
func Cost(size int) int { return 2*size + EntryOverhead }

func cost(p *broker.Publication) int { return Cost(len(p.Data)) }

// push appends p, growing the ring on demand up to size: most channels
// never fill a large ring.
func (h *history) push(p *broker.Publication, size int) {
	if h.n == size {
		h.pop()
	}
	if h.n == len(h.ring) {
		grown := make([]*broker.Publication, min(size, max(8, 2*len(h.ring))))
		for i := 0; i < h.n; i++ {
			grown[i] = h.at(i)
		}
		h.ring, h.start = grown, 0
	}
	h.ring[(h.start+h.n)%len(h.ring)] = p
	h.n++
	h.bytes += cost(p)
}

// at returns the i-th oldest publication.
func (h *history) at(i int) *broker.Publication { return h.ring[(h.start+i)%len(h.ring)] }

// oldest returns the oldest kept publication, or nil.
func (h *history) oldest() *broker.Publication {
	if h.n == 0 {
		return nil
	}
	return h.at(0)
}

// pop drops the oldest publication.
func (h *history) pop() {
	p := h.ring[h.start]
	h.ring[h.start] = nil
	h.start = (h.start + 1) % len(h.ring)
	h.n--
	h.bytes -= cost(p)
	if h.n == 0 {
		h.ring, h.start = nil, 0 // an empty channel holds no ring
	}
}

// expire drops publications older than cutoff (Unix ms).
func (h *history) expire(cutoff int64) {
	for h.n > 0 && h.at(0).Time < cutoff {
		h.pop()
	}
}

// trimBytes drops the oldest publications until at most max bytes remain.
func (h *history) trimBytes(max int) {
	for h.n > 0 && h.bytes > max {
		h.pop()
	}
}

// oldestSeq returns the seq of the oldest kept publication, or 0.
func (h *history) oldestSeq() uint64 {
	if p := h.oldest(); p != nil {
		return p.Seq
	}
	return 0
}

// appendAfter appends to dst up to limit publications with seq > after.
// Seqs are consecutive, so the first one is found by arithmetic.
func (h *history) appendAfter(dst []*broker.Publication, after uint64, limit int) []*broker.Publication {
	if h.n == 0 || limit <= 0 {
		return dst
	}
	first := h.at(0).Seq
	i := 0
	if after >= first {
		if after-first+1 >= uint64(h.n) {
			return dst
		}
		i = int(after - first + 1)
	}
	for ; i < h.n && limit > 0; i++ {
		dst = append(dst, h.at(i))
		limit--
	}
	return dst
}
