package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// dialJob asks a client group to open one subscriber per entry in Channels.
type dialJob struct {
	Endpoint    Endpoint `json:"endpoint"`
	Channels    []string `json:"channels"`
	Local       string   `json:"local,omitempty"` // source IP
	Concurrency int      `json:"concurrency"`
	TimeoutMs   int64    `json:"timeout_ms"`
	// FanoutSlots > 0 keeps, per message index below it, the latest receipt
	// time over all subscribers (broadcast fan-out completion).
	FanoutSlots int `json:"fanout_slots,omitempty"`
}

type dialResult struct {
	Opened    int      `json:"opened"`
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"` // the first few
	Handshake histWire `json:"handshake"`        // µs, connect to subscribed
	TookMs    int64    `json:"took_ms"`
}

// groupReport is a group's delivery accounting. Loss is computed against
// the published counts the coordinator sends with the request.
type groupReport struct {
	Deliveries  int64    `json:"deliveries"`
	Unique      int64    `json:"unique"`
	Dups        int64    `json:"dups"`
	Lost        int64    `json:"lost"`
	Reordered   int64    `json:"reordered"`
	Invalid     int64    `json:"invalid"`
	SeqMissing  int64    `json:"seq_missing"`
	SeqRepeats  int64    `json:"seq_repeats"`
	Latency     histWire `json:"latency"` // µs, publish to receipt
	FanoutLast  []int64  `json:"fanout_last,omitempty"`
	ClosedBySrv int      `json:"closed_by_server"`
	// MissingSample names a few lost messages as channel#index.
	MissingSample []string    `json:"missing_sample,omitempty"`
	CloseCodes    map[int]int `json:"close_codes,omitempty"`
	Open          int         `json:"open"`
}

// group is a set of subscriber connections: in this process (localGroup) or
// in a worker subprocess (remoteGroup), which is how the harness spreads
// sockets over processes and source addresses.
type group interface {
	dial(ctx context.Context, job dialJob) (dialResult, error)
	count() (int64, error)
	report(published publishedSet) (groupReport, error)
	close() error
}

// publishedSet says what was published, per channel, for the loss
// accounting: indices [0, Count[ch]) were published, except those in
// Unacked[ch], whose publish failed (they count neither as delivered nor as
// lost; a delivery of one is still a delivery).
type publishedSet struct {
	Count   map[string]int64   `json:"count,omitempty"`
	Unacked map[string][]int64 `json:"unacked,omitempty"`
}

// publishedCounts is the set for scenarios whose every index was accepted.
func publishedCounts(count map[string]int64) publishedSet { return publishedSet{Count: count} }

type trackedSub struct {
	sub *Sub
	ch  string
	mu  sync.Mutex
	tr  Tracker
	seq SeqGaps
}

// localGroup holds subscribers in this process.
type localGroup struct {
	mu         sync.Mutex
	subs       []*trackedSub
	latency    Histogram
	deliveries atomic.Int64
	fanout     []atomic.Int64
}

func (g *localGroup) dial(ctx context.Context, job dialJob) (dialResult, error) {
	start := time.Now()
	if job.FanoutSlots > 0 && len(g.fanout) == 0 {
		g.fanout = make([]atomic.Int64, job.FanoutSlots)
	}
	var local net.IP
	if job.Local != "" {
		local = net.ParseIP(job.Local)
	}
	var (
		res  dialResult
		hs   Histogram
		mu   sync.Mutex
		wg   sync.WaitGroup
		next atomic.Int64
	)
	timeout := time.Duration(job.TimeoutMs) * time.Millisecond
	for w := 0; w < max(job.Concurrency, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(job.Channels) || ctx.Err() != nil {
					return
				}
				ts := &trackedSub{ch: job.Channels[i]}
				dctx, cancel := context.WithTimeout(ctx, timeout)
				t0 := time.Now()
				sub, err := job.Endpoint.Dial(dctx, ts.ch, DialOptions{Local: local}, func(d Delivery) { g.onDelivery(ts, d) })
				cancel()
				mu.Lock()
				if err != nil {
					res.Failed++
					if len(res.Errors) < 5 {
						res.Errors = append(res.Errors, err.Error())
					}
				} else {
					res.Opened++
					hs.RecordDuration(time.Since(t0))
				}
				mu.Unlock()
				if err == nil {
					ts.mu.Lock()
					ts.sub = sub
					ts.mu.Unlock()
					g.mu.Lock()
					g.subs = append(g.subs, ts)
					g.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res.Handshake = hs.wire()
	res.TookMs = time.Since(start).Milliseconds()
	return res, nil
}

func (g *localGroup) onDelivery(ts *trackedSub, d Delivery) {
	g.deliveries.Add(1)
	if d.SentNs > 0 {
		g.latency.Record((d.RecvNs - d.SentNs) / 1000)
	}
	if d.Index >= 0 && d.Index < int64(len(g.fanout)) {
		slot := &g.fanout[d.Index]
		for v := slot.Load(); d.RecvNs > v && !slot.CompareAndSwap(v, d.RecvNs); v = slot.Load() {
		}
	}
	ts.mu.Lock()
	ts.tr.Observe(d.Index)
	if d.Seq > 0 {
		ts.seq.Observe(d.Seq)
	}
	ts.mu.Unlock()
}

func (g *localGroup) count() (int64, error) { return g.deliveries.Load(), nil }

func (g *localGroup) report(published publishedSet) (groupReport, error) {
	r := groupReport{CloseCodes: map[int]int{}, Deliveries: g.deliveries.Load(), Latency: g.latency.wire()}
	g.mu.Lock()
	subs := append([]*trackedSub(nil), g.subs...)
	g.mu.Unlock()
	for _, ts := range subs {
		ts.mu.Lock()
		r.Unique += ts.tr.Unique()
		r.Dups += ts.tr.Dups()
		r.Reordered += ts.tr.Reordered()
		r.Invalid += ts.tr.Invalid()
		r.SeqMissing += ts.seq.Missing
		r.SeqRepeats += ts.seq.Repeats
		if n, ok := published.Count[ts.ch]; ok {
			unacked := published.Unacked[ts.ch]
			lost := ts.tr.Lost(0, n)
			for _, k := range unacked {
				if k < n && !ts.tr.Has(k) {
					lost--
				}
			}
			r.Lost += lost
			if lost > 0 && len(r.MissingSample) < 5 {
				for _, k := range ts.tr.Missing(nil, 0, n, 5+len(unacked)) {
					if len(r.MissingSample) < 5 && !slices.Contains(unacked, k) {
						r.MissingSample = append(r.MissingSample, ts.ch+"#"+itoa(int(k)))
					}
				}
			}
		}
		sub := ts.sub
		ts.mu.Unlock()
		if sub.ClosedByServer() {
			r.ClosedBySrv++
			r.CloseCodes[sub.CloseCode()]++
		} else {
			r.Open++
		}
	}
	for i := range g.fanout {
		r.FanoutLast = append(r.FanoutLast, g.fanout[i].Load())
	}
	return r, nil
}

func (g *localGroup) close() error {
	g.mu.Lock()
	subs := g.subs
	g.subs = nil
	g.mu.Unlock()
	for _, ts := range subs {
		_ = ts.sub.Close()
	}
	return nil
}

// workerRequest is one line the coordinator writes to a worker's stdin.
type workerRequest struct {
	Op        string        `json:"op"` // dial, count, report, close
	Dial      *dialJob      `json:"dial,omitempty"`
	Published *publishedSet `json:"published,omitempty"`
}

type workerReply struct {
	Err    string       `json:"err,omitempty"`
	Dial   *dialResult  `json:"dial,omitempty"`
	Count  int64        `json:"count,omitempty"`
	Report *groupReport `json:"report,omitempty"`
}

// ServeWorker runs a client group for a coordinator: it reads one JSON
// request per line from r and writes one JSON reply per line to w, until a
// "close" request or the end of r. cmd/cometbench runs it as the hidden
// "worker" subcommand.
func ServeWorker(r io.Reader, w io.Writer) error {
	g := &localGroup{}
	dec := json.NewDecoder(bufio.NewReader(r))
	enc := json.NewEncoder(w)
	defer g.close()
	for {
		var req workerRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var rep workerReply
		switch req.Op {
		case "dial":
			if req.Dial == nil {
				rep.Err = "dial without job"
				break
			}
			res, _ := g.dial(context.Background(), *req.Dial)
			rep.Dial = &res
		case "count":
			rep.Count, _ = g.count()
		case "report":
			var pub publishedSet
			if req.Published != nil {
				pub = *req.Published
			}
			res, _ := g.report(pub)
			rep.Report = &res
		case "close":
			_ = g.close()
			return enc.Encode(rep)
		default:
			rep.Err = "unknown op " + req.Op
		}
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
}

// remoteGroup drives a worker subprocess.
type remoteGroup struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
	mu  sync.Mutex
}

// startWorker runs exe with args (which must end in ServeWorker) and pins
// it with taskset when cpus is not empty.
func startWorker(exe string, args []string, cpus string) (*remoteGroup, error) {
	if cpus != "" {
		args = append([]string{"-c", cpus, exe}, args...)
		exe = "taskset"
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start worker: %w", err)
	}
	return &remoteGroup{cmd: cmd, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

func (g *remoteGroup) call(req workerRequest) (workerReply, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var rep workerReply
	if err := g.enc.Encode(req); err != nil {
		return rep, fmt.Errorf("bench: worker %d: %w", g.cmd.Process.Pid, err)
	}
	if err := g.dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("bench: worker %d: %w", g.cmd.Process.Pid, err)
	}
	if rep.Err != "" {
		return rep, errors.New("bench: worker: " + rep.Err)
	}
	return rep, nil
}

func (g *remoteGroup) dial(_ context.Context, job dialJob) (dialResult, error) {
	rep, err := g.call(workerRequest{Op: "dial", Dial: &job})
	if err != nil {
		return dialResult{}, err
	}
	if rep.Dial == nil {
		return dialResult{}, errors.New("bench: worker: empty dial reply")
	}
	return *rep.Dial, nil
}

func (g *remoteGroup) count() (int64, error) {
	rep, err := g.call(workerRequest{Op: "count"})
	return rep.Count, err
}

func (g *remoteGroup) report(published publishedSet) (groupReport, error) {
	rep, err := g.call(workerRequest{Op: "report", Published: &published})
	if err != nil {
		return groupReport{}, err
	}
	if rep.Report == nil {
		return groupReport{}, errors.New("bench: worker: empty report")
	}
	return *rep.Report, nil
}

func (g *remoteGroup) close() error {
	_, err := g.call(workerRequest{Op: "close"})
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
	return err
}
