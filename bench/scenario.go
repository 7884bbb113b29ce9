package bench

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// scenarioRun holds one scenario against one started target.
type scenarioRun struct {
	cfg    *Config
	target Target
	ep     Endpoint
	res    *Result
	name   string
	groups []group
}

// sourceIP is the loopback source address of client group k: 127.0.0.2,
// 127.0.0.3, ... so that each group has its own ephemeral port range.
func sourceIP(k int) string { return fmt.Sprintf("127.0.0.%d", 2+k%200) }

func (s *scenarioRun) progress(format string, a ...any) {
	s.cfg.progress(s.target.Name(), s.name, format, a...)
}

// sample reads the target's processes, and each group's apart when the
// target is Grouped.
func (s *scenarioRun) sample() ProcSample {
	smp := SampleProcs(s.target.PIDs())
	if g, ok := s.target.(Grouped); ok {
		smp.Groups = map[string]ProcSample{}
		for name, pids := range g.PIDGroups() {
			smp.Groups[name] = SampleProcs(pids)
		}
	}
	return smp
}

// dialAll opens one subscriber per channel entry, spread over as many client
// groups as ConnsPerWorker requires, and records the dial metrics.
func (s *scenarioRun) dialAll(ctx context.Context, channels []string, fanoutSlots int) (opened int, hs *Histogram, took time.Duration, err error) {
	per := s.cfg.ConnsPerWorker
	n := (len(channels) + per - 1) / per
	for len(s.groups) < n {
		var g group = &localGroup{}
		if s.cfg.WorkerExe != "" {
			g, err = startWorker(s.cfg.WorkerExe, s.cfg.WorkerArgs, s.cfg.ClientCPUs)
			if err != nil {
				return 0, nil, 0, err
			}
		}
		s.groups = append(s.groups, g)
	}
	s.progress("dialing %d connections from %d client processes", len(channels), n)
	start := time.Now()
	results := make([]dialResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		job := dialJob{Endpoint: s.ep, Channels: channels[k*per : min((k+1)*per, len(channels))], Local: sourceIP(k),
			Concurrency: s.cfg.DialConcurrency, TimeoutMs: s.cfg.DialTimeout.Milliseconds(), FanoutSlots: fanoutSlots}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = s.groups[k].dial(ctx, job)
		}()
	}
	wg.Wait()
	took = time.Since(start)
	hs = new(Histogram)
	failed := 0
	var firstErrs []string
	for k, r := range results {
		if errs[k] != nil {
			return 0, nil, took, errs[k]
		}
		opened += r.Opened
		failed += r.Failed
		hs.Merge(r.Handshake.histogram())
		firstErrs = append(firstErrs, r.Errors...)
	}
	s.res.Metrics["failed"] += float64(failed)
	if failed > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("%d connections failed, first errors: %q", failed, firstErrs[:min(3, len(firstErrs))]))
	}
	return opened, hs, took, nil
}

func (s *scenarioRun) closeGroups() {
	var wg sync.WaitGroup
	for _, g := range s.groups {
		wg.Add(1)
		go func() { defer wg.Done(); _ = g.close() }()
	}
	wg.Wait()
	s.groups = nil
}

func (s *scenarioRun) count() int64 {
	var total int64
	for _, g := range s.groups {
		n, _ := g.count()
		total += n
	}
	return total
}

// report merges every group's accounting.
func (s *scenarioRun) report(published publishedSet) (groupReport, *Histogram, error) {
	all := groupReport{CloseCodes: map[int]int{}}
	lat := new(Histogram)
	for _, g := range s.groups {
		r, err := g.report(published)
		if err != nil {
			return all, nil, err
		}
		all.Deliveries += r.Deliveries
		all.Unique += r.Unique
		all.Dups += r.Dups
		all.Lost += r.Lost
		all.Reordered += r.Reordered
		all.Invalid += r.Invalid
		all.SeqMissing += r.SeqMissing
		all.SeqRepeats += r.SeqRepeats
		all.ClosedBySrv += r.ClosedBySrv
		for _, m := range r.MissingSample {
			if len(all.MissingSample) < 5 && !slices.Contains(all.MissingSample, m) {
				all.MissingSample = append(all.MissingSample, m)
			}
		}
		all.Open += r.Open
		for c, n := range r.CloseCodes {
			all.CloseCodes[c] += n
		}
		for i, v := range r.FanoutLast {
			if i >= len(all.FanoutLast) {
				all.FanoutLast = append(all.FanoutLast, 0)
			}
			all.FanoutLast[i] = max(all.FanoutLast[i], v)
		}
		lat.Merge(r.Latency.histogram())
	}
	return all, lat, nil
}

// recordDelivery stores the loss, duplication and latency metrics.
func (s *scenarioRun) recordDelivery(r groupReport, lat *Histogram) {
	m := s.res.Metrics
	m["deliveries"] = float64(r.Deliveries)
	m["lost"] = float64(r.Lost)
	m["dups"] = float64(r.Dups)
	m["reordered"] = float64(r.Reordered)
	m["seq_missing"] = float64(r.SeqMissing)
	m["seq_repeats"] = float64(r.SeqRepeats)
	m["closed_by_server"] = float64(r.ClosedBySrv)
	ms := func(us int64) float64 { return float64(us) / 1000 }
	m["p50_ms"] = ms(lat.Percentile(0.50))
	m["p99_ms"] = ms(lat.Percentile(0.99))
	m["p999_ms"] = ms(lat.Percentile(0.999))
	m["max_ms"] = ms(lat.Max())
	m["mean_ms"] = lat.Mean() / 1000
	if r.Lost > 0 || r.Dups > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("LOSS: %d deliveries lost, %d duplicated", r.Lost, r.Dups))
		if len(r.MissingSample) > 0 {
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("lost messages include (channel#publish index): %v", r.MissingSample))
		}
	}
	if r.ClosedBySrv > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("server closed %d subscribers, close codes %v", r.ClosedBySrv, r.CloseCodes))
	}
}

// recordCPU stores the server CPU seconds between two samples and, per
// delivery counted between them, cpu_ns_per_delivery (and cpu_s_per_m, the
// same per million, kept for older results). A grouped target (a cluster)
// also gets cpu_s_<group> and cpu_s_per_m_<group> for each group (nodes,
// proxy, redis). /proc counts CPU in 10 ms ticks, so runs under a second
// of server CPU read coarse.
func (s *scenarioRun) recordCPU(before, after ProcSample, deliveries int64) {
	if before.Procs == 0 || after.Procs == 0 {
		return
	}
	m := s.res.Metrics
	cpu := after.CPUSec - before.CPUSec
	m["cpu_s"] = cpu
	if deliveries > 0 {
		m["cpu_ns_per_delivery"] = cpu * 1e9 / float64(deliveries)
		m["cpu_s_per_m"] = cpu * 1e6 / float64(deliveries)
	}
	for name, a := range after.Groups {
		b, ok := before.Groups[name]
		if !ok {
			continue
		}
		m["cpu_s_"+name] = a.CPUSec - b.CPUSec
		if deliveries > 0 {
			m["cpu_s_per_m_"+name] = (a.CPUSec - b.CPUSec) * 1e6 / float64(deliveries)
		}
	}
}

// recordPublishCPU stores, for a grouped target, each group's CPU per
// accepted publish between two samples (cpu_us_per_publish_<group>):
// Redis's work follows the publishes (a script, then one message per
// subscribed node), not the deliveries, which the nodes make.
func (s *scenarioRun) recordPublishCPU(before, after ProcSample, publishes int64) {
	if publishes <= 0 {
		return
	}
	for name, a := range after.Groups {
		if b, ok := before.Groups[name]; ok {
			s.res.Metrics["cpu_us_per_publish_"+name] = (a.CPUSec - b.CPUSec) * 1e6 / float64(publishes)
		}
	}
}

// waitDeliveries polls until want deliveries arrived, nothing arrived for
// quiet, or limit passed.
func (s *scenarioRun) waitDeliveries(ctx context.Context, want int64, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, lastChange := int64(-1), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := s.count()
		if n >= want {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return
		}
		s.progress("draining %d/%d deliveries", n, want)
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *scenarioRun) connect(ctx context.Context) error {
	defer s.closeGroups()
	n := s.cfg.ConnectConns
	s.res.Params["conns"] = n
	channels := make([]string, n)
	for i := range channels {
		channels[i] = "conn-" + itoa(i%100)
	}
	before := s.sample()
	opened, hs, took, err := s.dialAll(ctx, channels, 0)
	if err != nil {
		return err
	}
	after := s.sample()
	m := s.res.Metrics
	if before.Procs > 0 && after.Procs > 0 && opened > 0 {
		m["cpu_us_per_conn"] = (after.CPUSec - before.CPUSec) * 1e6 / float64(opened)
	}
	m["opened"] = float64(opened)
	m["conns_per_s"] = float64(opened) / took.Seconds()
	m["handshake_p50_ms"] = float64(hs.Percentile(0.5)) / 1000
	m["handshake_p99_ms"] = float64(hs.Percentile(0.99)) / 1000
	m["handshake_max_ms"] = float64(hs.Max()) / 1000
	s.res.Notes = append(s.res.Notes, "handshake = TCP connect + upgrade + subscribe confirmed")
	return nil
}

func (s *scenarioRun) idle(ctx context.Context) error {
	defer s.closeGroups()
	n := s.cfg.IdleConns
	s.res.Params["conns"] = n
	s.res.Params["hold_s"] = s.cfg.IdleHold.Seconds()
	time.Sleep(s.cfg.Settle / 3)
	base := s.sample()
	s.res.Params["channels"] = s.cfg.IdleChannels
	channels := make([]string, n)
	for i := range channels {
		// By default one channel per user, as a personal inbox.
		k := i
		if s.cfg.IdleChannels > 0 {
			k = i % s.cfg.IdleChannels
		}
		channels[i] = "idle-" + itoa(k)
	}
	opened, _, _, err := s.dialAll(ctx, channels, 0)
	if err != nil {
		return err
	}
	s.progress("%d connections open, settling", opened)
	time.Sleep(s.cfg.Settle)
	loaded := s.sample()
	s.progress("%d connections open, holding %v", opened, s.cfg.IdleHold)
	sleepCtx(ctx, s.cfg.IdleHold)
	end := s.sample()
	r, _, err := s.report(publishedSet{})
	if err != nil {
		return err
	}
	m := s.res.Metrics
	m["conns"] = float64(opened)
	m["rss_base_mib"] = float64(base.RSSKiB) / 1024
	m["rss_loaded_mib"] = float64(end.RSSKiB) / 1024
	if opened > 0 && base.Procs > 0 {
		m["rss_per_conn_kib"] = float64(end.RSSKiB-base.RSSKiB) / float64(opened)
	}
	m["idle_cpu_pct"] = 100 * (end.CPUSec - loaded.CPUSec) / end.At.Sub(loaded.At).Seconds()
	m["threads"] = float64(end.Threads)
	m["server_procs"] = float64(end.Procs)
	m["closed_by_server"] = float64(r.ClosedBySrv)
	if r.ClosedBySrv > 0 {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("server closed %d idle subscribers, close codes %v", r.ClosedBySrv, r.CloseCodes))
	}
	if base.Procs == 0 {
		s.res.Notes = append(s.res.Notes, "server processes unknown: memory and CPU not measured")
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (s *scenarioRun) broadcast(ctx context.Context) error {
	defer s.closeGroups()
	subs, msgs, rate := s.cfg.BroadcastSubs, s.cfg.BroadcastMsgs, s.cfg.BroadcastRate
	s.res.Params["subs"], s.res.Params["msgs"], s.res.Params["rate"], s.res.Params["payload"] = subs, msgs, rate, s.cfg.PayloadSize
	ch := "bcast-" + itoa(int(time.Now().UnixNano()%1e6))
	channels := slices.Repeat([]string{ch}, subs)
	opened, _, _, err := s.dialAll(ctx, channels, msgs)
	if err != nil {
		return err
	}
	pub := NewPublisher(s.ep, 1)
	defer pub.Close()
	before := s.sample()
	sent := make([]int64, 0, msgs)
	pubErrs := 0
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var buf []byte
	for attempts := 0; len(sent) < msgs && attempts < 3*msgs && ctx.Err() == nil; attempts++ {
		<-tick.C
		now := time.Now()
		buf = Payload(buf[:0], int64(len(sent)), now, s.cfg.PayloadSize)
		if _, err := pub.Publish(ctx, ch, buf); err != nil {
			if pubErrs++; pubErrs == 1 {
				s.res.Notes = append(s.res.Notes, "first publish error: "+err.Error())
			}
			continue
		}
		sent = append(sent, now.UnixNano())
		if len(sent)%10 == 0 {
			s.progress("published %d/%d to %d subscribers", len(sent), msgs, opened)
		}
	}
	if len(sent) == 0 {
		return fmt.Errorf("bench: no publish accepted (%d errors)", pubErrs)
	}
	s.waitDeliveries(ctx, int64(opened)*int64(len(sent)), 3*time.Second, 30*time.Second)
	after := s.sample()
	r, lat, err := s.report(publishedCounts(map[string]int64{ch: int64(len(sent))}))
	if err != nil {
		return err
	}
	m := s.res.Metrics
	m["subs"] = float64(opened)
	m["msgs"] = float64(len(sent))
	m["publish_errors"] = float64(pubErrs)
	m["expected"] = float64(opened * len(sent))
	s.recordDelivery(r, lat)
	var fan Histogram
	for i, t := range sent {
		if i < len(r.FanoutLast) && r.FanoutLast[i] > 0 {
			fan.Record((r.FanoutLast[i] - t) / 1000)
		}
	}
	m["fanout_p50_ms"] = float64(fan.Percentile(0.5)) / 1000
	m["fanout_p99_ms"] = float64(fan.Percentile(0.99)) / 1000
	m["fanout_max_ms"] = float64(fan.Max()) / 1000
	s.recordCPU(before, after, r.Deliveries)
	if after.Procs > 0 {
		m["rss_mib"] = float64(after.RSSKiB) / 1024
		// A cluster's memory by tier, with every subscriber connected.
		for name, g := range after.Groups {
			m["rss_mib_"+name] = float64(g.RSSKiB) / 1024
		}
	}
	return nil
}

func (s *scenarioRun) throughput(ctx context.Context) error {
	defer s.closeGroups()
	nch, per, pubs, dur := s.cfg.ThroughputChannels, s.cfg.ThroughputSubs, s.cfg.ThroughputPubs, s.cfg.ThroughputTime
	s.res.Params["channels"], s.res.Params["subs_per_channel"], s.res.Params["publishers"], s.res.Params["seconds"] = nch, per, pubs, dur.Seconds()
	channels := make([]string, 0, nch*per)
	for i := 0; i < nch*per; i++ {
		channels = append(channels, "tp-"+itoa(i%nch))
	}
	opened, _, _, err := s.dialAll(ctx, channels, 0)
	if err != nil {
		return err
	}
	pub := NewPublisher(s.ep, pubs)
	defer pub.Close()
	published := make([]int64, nch) // index k is owned by publisher k%pubs
	var pubErrs atomic.Int64
	var firstErr atomic.Value
	c0, p0 := s.count(), s.sample()
	t0 := time.Now()
	stop := t0.Add(dur)
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var owned []int
			for k := p; k < nch; k += pubs {
				owned = append(owned, k)
			}
			if len(owned) == 0 {
				return
			}
			var buf []byte
			// Bounded by time and by count (1e7 per publisher).
			for i := 0; i < 10_000_000 && time.Now().Before(stop) && ctx.Err() == nil; i++ {
				k := owned[i%len(owned)]
				buf = Payload(buf[:0], published[k], time.Now(), s.cfg.PayloadSize)
				if _, err := pub.Publish(ctx, "tp-"+itoa(k), buf); err != nil {
					if pubErrs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				published[k]++
			}
		}()
	}
	for time.Now().Before(stop) && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		s.progress("%v/%v, %d delivered", time.Since(t0).Round(time.Second), dur, s.count()-c0)
	}
	c1, p1 := s.count(), s.sample()
	window := time.Since(t0)
	wg.Wait()
	var total int64
	pubMap := make(map[string]int64, nch)
	for k, n := range published {
		total += n
		pubMap["tp-"+itoa(k)] = n
	}
	s.waitDeliveries(ctx, total*int64(per)-int64(nch*per-opened), 3*time.Second, 30*time.Second)
	r, lat, err := s.report(publishedCounts(pubMap))
	if err != nil {
		return err
	}
	m := s.res.Metrics
	m["conns"] = float64(opened)
	m["published"] = float64(total)
	m["published_per_s"] = float64(total) / window.Seconds()
	m["delivered_per_s"] = float64(c1-c0) / window.Seconds()
	m["publish_errors"] = float64(pubErrs.Load())
	if e, ok := firstErr.Load().(string); ok {
		s.res.Notes = append(s.res.Notes, "first publish error: "+e)
	}
	s.recordDelivery(r, lat)
	s.recordCPU(p0, p1, c1-c0)
	s.recordPublishCPU(p0, p1, total)
	return nil
}

func (s *scenarioRun) churn(ctx context.Context) error {
	defer s.closeGroups()
	stable, rate, life, dur := s.cfg.ChurnStable, s.cfg.ChurnRate, s.cfg.ChurnLifetime, s.cfg.ChurnTime
	s.res.Params["stable"], s.res.Params["rate"], s.res.Params["lifetime_s"], s.res.Params["seconds"], s.res.Params["msg_rate"] = stable, rate, life.Seconds(), dur.Seconds(), s.cfg.ChurnMsgRate
	ch := "churn-" + itoa(int(time.Now().UnixNano()%1e6))
	opened, _, _, err := s.dialAll(ctx, slices.Repeat([]string{ch}, stable), 0)
	if err != nil {
		return err
	}
	time.Sleep(s.cfg.Settle)
	before := s.sample()
	stopPublishing := s.publishEvery(ctx, ch, s.cfg.ChurnMsgRate)
	okN, failN, peak := s.churnConnections(ctx, ch, before)
	n, pubErrs := stopPublishing()
	churned := s.sample()
	s.waitDeliveries(ctx, int64(opened)*n, 3*time.Second, 30*time.Second)
	r, lat, err := s.report(publishedCounts(map[string]int64{ch: n}))
	if err != nil {
		return err
	}
	s.progress("settling after churn")
	time.Sleep(s.cfg.Settle + 2*time.Second)
	after := s.sample()
	m := s.res.Metrics
	m["stable"] = float64(opened)
	m["churn_opened"] = float64(okN)
	m["churn_failed"] = float64(failN)
	m["msgs"] = float64(n)
	m["publish_errors"] = float64(pubErrs)
	s.recordDelivery(r, lat)
	if before.Procs > 0 {
		m["rss_before_mib"] = float64(before.RSSKiB) / 1024
		m["rss_peak_mib"] = float64(peak.RSSKiB) / 1024
		m["rss_after_mib"] = float64(after.RSSKiB) / 1024
		m["threads_before"] = float64(before.Threads)
		m["threads_peak"] = float64(peak.Threads)
		m["threads_after"] = float64(after.Threads)
		// Churn's CPU is mostly connections, so it is per connection here.
		m["cpu_s"] = churned.CPUSec - before.CPUSec
		if okN > 0 {
			m["cpu_us_per_conn"] = m["cpu_s"] * 1e6 / float64(okN)
		}
		s.res.Notes = append(s.res.Notes, "threads are OS threads from /proc/<pid>/status (goroutine counts are not exposed by the targets)")
	}
	return nil
}

// publishEvery publishes to ch at rate per second until the returned stop
// function is called; stop returns how many publishes the server accepted
// and how many failed.
func (s *scenarioRun) publishEvery(ctx context.Context, ch string, rate int) (stop func() (ok, failed int64)) {
	cctx, cancel := context.WithCancel(ctx)
	var published, failures atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		pub := NewPublisher(s.ep, 1)
		defer pub.Close()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		var buf []byte
		for i := 0; i < 1_000_000; i++ {
			select {
			case <-cctx.Done():
				return
			case <-tick.C:
			}
			buf = Payload(buf[:0], published.Load(), time.Now(), s.cfg.PayloadSize)
			if _, err := pub.Publish(cctx, ch, buf); err == nil {
				published.Add(1)
			} else if cctx.Err() == nil {
				failures.Add(1)
			}
		}
	}()
	return func() (int64, int64) {
		cancel()
		<-done
		return published.Load(), failures.Load()
	}
}

// churnConnections opens ChurnRate subscribers per second on ch from
// 127.0.0.250 for ChurnTime, closes each after ChurnLifetime, then closes
// the rest; it returns the dial counts and the peak RSS and threads seen.
func (s *scenarioRun) churnConnections(ctx context.Context, ch string, start ProcSample) (ok, failed int64, peak ProcSample) {
	rate, life, dur := s.cfg.ChurnRate, s.cfg.ChurnLifetime, s.cfg.ChurnTime
	type churner struct {
		sub  *Sub
		born time.Time
	}
	var (
		mu       sync.Mutex
		live     []churner
		okN      atomic.Int64
		failN    atomic.Int64
		inflight sync.WaitGroup
	)
	peak = start
	sem := make(chan struct{}, 64)
	local := net.ParseIP("127.0.0.250")
	t0 := time.Now()
	launched, total := 0, int(float64(rate)*dur.Seconds())
	for time.Since(t0) < dur && launched < total && ctx.Err() == nil {
		due := min(int(float64(rate)*time.Since(t0).Seconds()), total)
		for ; launched < due; launched++ {
			sem <- struct{}{}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				defer func() { <-sem }()
				dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
				sub, err := s.ep.Dial(dctx, ch, DialOptions{Local: local}, nil)
				cancel()
				if err != nil {
					failN.Add(1)
					return
				}
				okN.Add(1)
				mu.Lock()
				live = append(live, churner{sub, time.Now()})
				mu.Unlock()
			}()
		}
		mu.Lock()
		keep := live[:0]
		for _, c := range live {
			if time.Since(c.born) >= life {
				_ = c.sub.Close()
			} else {
				keep = append(keep, c)
			}
		}
		live = keep
		n := len(live)
		mu.Unlock()
		smp := s.sample()
		peak.RSSKiB = max(peak.RSSKiB, smp.RSSKiB)
		peak.Threads = max(peak.Threads, smp.Threads)
		s.progress("%v/%v, %d churning open, %d opened", time.Since(t0).Round(time.Second), dur, n, okN.Load())
		time.Sleep(100 * time.Millisecond)
	}
	inflight.Wait()
	mu.Lock()
	for _, c := range live {
		_ = c.sub.Close()
	}
	mu.Unlock()
	return okN.Load(), failN.Load(), peak
}
