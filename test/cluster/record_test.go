//go:build unix

package cluster

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// event is any JSON object a node sends on any transport: a delivery, a
// reply, a stream's open or close, an epoch change, a poll answer's
// message.
type event struct {
	Op        string          `json:"op"`
	Ch        string          `json:"ch"`
	Seq       uint64          `json:"seq"`
	Epoch     string          `json:"epoch"`
	ID        string          `json:"id"`
	Recovered *bool           `json:"recovered"`
	Code      int             `json:"code"`
	Reason    string          `json:"reason"`
	Cursor    string          `json:"cursor"`
	Gap       []string        `json:"gap"`
	Data      json.RawMessage `json:"data"`
}

// payload is what the tests publish: a unique id per publish.
type payload struct {
	P string `json:"p"`
}

// delivery is one message as a subscriber received it.
type delivery struct {
	seq uint64
	id  string // the payload's p
}

// record is what one subscriber received, per channel in arrival order,
// and the anomalies it saw (a gap, recovered:false, an error reply).
type record struct {
	name string

	mu         sync.Mutex
	got        map[string][]delivery
	anomalies  []string
	reconnects int
	closeCodes map[int]int   // WebSocket close codes the server sent
	changed    chan struct{} // signalled (not closed) on every change
}

func newRecord(name string) *record {
	return &record{name: name, got: map[string][]delivery{}, closeCodes: map[int]int{}, changed: make(chan struct{}, 1)}
}

func (r *record) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// add records a delivery. Ephemeral messages (seq 0) are not ours.
func (r *record) add(ch string, seq uint64, data json.RawMessage) {
	if seq == 0 {
		return
	}
	var p payload
	_ = json.Unmarshal(data, &p)
	r.mu.Lock()
	r.got[ch] = append(r.got[ch], delivery{seq: seq, id: p.P})
	r.mu.Unlock()
	r.signal()
}

func (r *record) anomaly(format string, args ...any) {
	r.mu.Lock()
	r.anomalies = append(r.anomalies, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	r.signal()
}

func (r *record) reconnected() {
	r.mu.Lock()
	r.reconnects++
	r.mu.Unlock()
}

func (r *record) closed(code int) {
	r.mu.Lock()
	r.closeCodes[code]++
	r.mu.Unlock()
}

// CloseCodes counts the close codes the subscriber's connections ended
// with.
func (r *record) CloseCodes() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int{}
	for k, v := range r.closeCodes {
		out[k] = v
	}
	return out
}

// Reconnects counts the connections the subscriber had to open again.
func (r *record) Reconnects() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconnects
}

// last is the highest seq received on ch.
func (r *record) last(ch string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var top uint64
	for _, d := range r.got[ch] {
		top = max(top, d.seq)
	}
	return top
}

// deliveries returns a copy of what ch received.
func (r *record) deliveries(ch string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[ch])
}

// ledger is what publishers were told: per channel, seq -> payload id, for
// every publish that got an acknowledgement with a seq.
type ledger struct {
	mu     sync.Mutex
	acked  map[string]map[uint64]string
	bySeq  map[string]map[string]uint64 // id -> seq, to catch a publish stored twice
	errors []string
}

func newLedger() *ledger {
	return &ledger{acked: map[string]map[uint64]string{}, bySeq: map[string]map[string]uint64{}}
}

// ack records that the publish of id on ch was acknowledged as seq. Two ids
// acknowledged with one seq, or one id with two seqs (a retry stored
// twice despite its idempotency key), are errors.
func (l *ledger) ack(ch string, seq uint64, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acked[ch] == nil {
		l.acked[ch], l.bySeq[ch] = map[uint64]string{}, map[string]uint64{}
	}
	if prev, ok := l.acked[ch][seq]; ok && prev != id {
		l.errors = append(l.errors, fmt.Sprintf("%s seq %d acknowledged for %q and for %q", ch, seq, prev, id))
	}
	if prev, ok := l.bySeq[ch][id]; ok && prev != seq {
		l.errors = append(l.errors, fmt.Sprintf("%s: %q acknowledged as seq %d and as seq %d", ch, id, prev, seq))
	}
	l.acked[ch][seq] = id
	l.bySeq[ch][id] = seq
}

// top is the highest acknowledged seq on ch.
func (l *ledger) top(ch string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var top uint64
	for s := range l.acked[ch] {
		top = max(top, s)
	}
	return top
}

// count is the number of acknowledged publishes on ch.
func (l *ledger) count(ch string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked[ch])
}

// waitAll waits until every record holds ch's top acknowledged seq on
// every channel, or the timeout passes; it fails the test with what is
// missing then.
func waitAll(t *testing.T, l *ledger, channels []string, recs []*record, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, r := range recs {
		for {
			done := true
			for _, ch := range channels {
				if r.last(ch) < l.top(ch) {
					done = false
				}
			}
			if done {
				break
			}
			select {
			case <-r.changed:
			case <-deadline.C:
				var b strings.Builder
				for _, r := range recs {
					for _, ch := range channels {
						if got, want := r.last(ch), l.top(ch); got < want {
							fmt.Fprintf(&b, "\n  %s: %s up to seq %d of %d", r.name, ch, got, want)
						}
					}
				}
				t.Fatalf("after %s, subscribers still miss acknowledged messages:%s", timeout, b.String())
			}
		}
	}
}

// verify fails the test with every problem check finds.
func verify(t *testing.T, l *ledger, channels []string, recs []*record, from map[string]uint64) {
	t.Helper()
	for _, p := range check(l, channels, recs, from) {
		t.Error(p)
	}
}

// check compares every record with the ledger: on every channel each
// subscriber received seqs first..last with no gap, no duplicate and no
// reordering; it received every acknowledged seq from its first; the
// payload at each seq is the acknowledged one and the same for every
// subscriber (one order per channel); and no subscriber saw an anomaly.
// from[ch] is the first seq a subscriber must have (1 when absent: the
// subscribers joined before the first publish). It returns the problems,
// at most five per subscriber and channel.
func check(l *ledger, channels []string, recs []*record, from map[string]uint64) []string {
	var out []string
	l.mu.Lock()
	for _, e := range l.errors {
		out = append(out, "publishers: "+e)
	}
	l.mu.Unlock()
	for _, ch := range channels {
		canon := map[uint64]string{}
		l.mu.Lock()
		for s, id := range l.acked[ch] {
			canon[s] = id
		}
		l.mu.Unlock()
		top := l.top(ch)
		if top == 0 {
			out = append(out, ch+": nothing was acknowledged")
		}
		first := max(from[ch], 1)
		for _, r := range recs {
			ds := r.deliveries(ch)
			next := first
			bad := 0
			for _, d := range ds {
				if d.seq != next {
					if bad++; bad <= 5 {
						out = append(out, fmt.Sprintf("%s on %s: got seq %d, want %d (received: %s)", r.name, ch, d.seq, next, summarize(ds)))
					}
					if d.seq < next {
						continue // a duplicate or an older one: keep waiting for next
					}
				}
				next = d.seq + 1
				if want, ok := canon[d.seq]; ok && want != d.id {
					out = append(out, fmt.Sprintf("%s on %s: seq %d carries %q, want %q", r.name, ch, d.seq, d.id, want))
				} else if !ok {
					// Stored but not acknowledged (its publisher timed out):
					// still one payload per seq for everybody.
					canon[d.seq] = d.id
				}
			}
			if next <= top {
				out = append(out, fmt.Sprintf("%s on %s: received up to seq %d, but seq %d was acknowledged", r.name, ch, next-1, top))
			}
		}
	}
	for _, r := range recs {
		r.mu.Lock()
		for _, a := range r.anomalies {
			out = append(out, r.name+": "+a)
		}
		r.mu.Unlock()
	}
	return out
}

// summarize prints a delivery list compactly: runs of consecutive seqs.
func summarize(ds []delivery) string {
	var b strings.Builder
	for i := 0; i < len(ds); {
		j := i
		for j+1 < len(ds) && ds[j+1].seq == ds[j].seq+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(&b, "%d", ds[i].seq)
		} else {
			fmt.Fprintf(&b, "%d-%d", ds[i].seq, ds[j].seq)
		}
		i = j + 1
	}
	return b.String()
}
