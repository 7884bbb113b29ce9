package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Config is one cometbench run. The zero value of each size means its
// default, chosen so that a scenario finishes in about a minute on a small
// machine.
type Config struct {
	Targets   []Target
	Scenarios []string // default: all of Scenarios
	OutDir    string   // results folder; "" writes nothing but the table

	// WorkerExe runs client worker processes as "WorkerExe WorkerArgs...";
	// empty keeps all clients in this process (tests).
	WorkerExe  string
	WorkerArgs []string
	// ClientCPUs pins worker processes with taskset; "" = no pinning.
	ClientCPUs string
	// ConnsPerWorker caps sockets per worker process (default 5,000; the
	// machine allows about 19,900 per process).
	ConnsPerWorker  int
	DialConcurrency int           // per worker, default 64
	DialTimeout     time.Duration // per connection, default 10 s
	PayloadSize     int           // bytes per published message, default 64

	ConnectConns int // connect: connections opened (default 5,000)

	IdleConns int           // idle: connections held (default 10,000)
	IdleHold  time.Duration // idle: measurement window (default 10 s)
	// IdleChannels spreads the idle connections over this many channels;
	// 0 gives each its own (a personal inbox), 1 puts all in one room.
	IdleChannels int

	BroadcastSubs int // broadcast: subscribers on one channel (default 2,000)
	// BroadcastSweep, when set, runs broadcast (and broadcast-sse) once per
	// subscriber count instead of BroadcastSubs; ratios use the largest.
	BroadcastSweep []int
	BroadcastMsgs  int // broadcast: messages published (default 200)
	BroadcastRate  int // broadcast: messages per second (default 20)

	ThroughputChannels int           // throughput: channels (default 500)
	ThroughputSubs     int           // throughput: subscribers per channel (default 4)
	ThroughputPubs     int           // throughput: concurrent publishers (default 16)
	ThroughputTime     time.Duration // throughput: publishing window (default 10 s)

	RoomSubs int           // room: subscribers on the one channel (default 10,000)
	RoomPubs int           // room: concurrent closed-loop publishers (default 16)
	RoomTime time.Duration // room: publishing window (default 10 s)

	ChurnStable   int           // churn: long-lived subscribers (default 1,000)
	ChurnRate     int           // churn: connections opened (and closed) per second (default 200)
	ChurnLifetime time.Duration // churn: lifetime of a churning connection (default 1 s)
	ChurnTime     time.Duration // churn: duration (default 20 s)
	ChurnMsgRate  int           // churn: broadcasts per second meanwhile (default 10)

	// Notes describe the environment (machine, pinning); every result keeps
	// them in Params["env"].
	Notes []string
	// Progress receives a one-line status (carriage-return updated).
	Progress io.Writer
	// Settle is how long to let the server settle before memory readings
	// (default 3 s).
	Settle time.Duration
}

func (c *Config) withDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = Scenarios
	}
	def(&c.ConnsPerWorker, 5000)
	def(&c.DialConcurrency, 64)
	defDur(&c.DialTimeout, 10*time.Second)
	def(&c.PayloadSize, 64)
	def(&c.ConnectConns, 5000)
	def(&c.IdleConns, 10000)
	defDur(&c.IdleHold, 10*time.Second)
	def(&c.BroadcastSubs, 2000)
	def(&c.BroadcastMsgs, 200)
	def(&c.BroadcastRate, 20)
	def(&c.ThroughputChannels, 500)
	def(&c.ThroughputSubs, 4)
	def(&c.ThroughputPubs, 16)
	defDur(&c.ThroughputTime, 10*time.Second)
	def(&c.RoomSubs, 10000)
	def(&c.RoomPubs, 16)
	defDur(&c.RoomTime, 10*time.Second)
	def(&c.ChurnStable, 1000)
	def(&c.ChurnRate, 200)
	defDur(&c.ChurnLifetime, time.Second)
	defDur(&c.ChurnTime, 20*time.Second)
	def(&c.ChurnMsgRate, 10)
	defDur(&c.Settle, 3*time.Second)
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Scenarios lists the scenario names Run accepts. A "-sse" or "-poll"
// suffix runs the scenario with subscribers on that transport of the same
// server (publishing is unchanged); targets without it are skipped.
var Scenarios = []string{"connect", "idle", "broadcast", "throughput", "room", "churn",
	"idle-sse", "broadcast-sse", "room-sse", "idle-poll", "broadcast-poll", "room-poll"}

// Run runs every scenario against every target, restarting the target for
// each scenario so memory baselines are clean. It writes results.jsonl, the
// SVG charts and report.md under cfg.OutDir, and returns all results.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg.withDefaults()
	for _, s := range cfg.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return nil, fmt.Errorf("bench: unknown scenario %q (have %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	var jsonl io.Writer = io.Discard
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(filepath.Join(cfg.OutDir, "results.jsonl"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		jsonl = f
	}
	var results []Result
	for _, sc := range cfg.Scenarios {
		sizes := []int{0}
		if strings.HasPrefix(sc, "broadcast") && len(cfg.BroadcastSweep) > 0 {
			sizes = cfg.BroadcastSweep
		}
		for _, n := range sizes {
			run := cfg
			if n > 0 {
				run.BroadcastSubs = n
			}
			for _, t := range cfg.Targets {
				if ctx.Err() != nil {
					return results, ctx.Err()
				}
				if _, ok := subscriberProto(t, sc); !ok {
					continue // the target has no such transport
				}
				r := runOne(ctx, &run, t, sc)
				fmt.Fprintf(cfg.Progress, "\r\033[K[%s] %s: done%s\n", t.Name(), sc, errSuffix(r.Error))
				results = append(results, r)
				if err := writeJSONLine(jsonl, r); err != nil {
					return results, err
				}
			}
		}
	}
	if cfg.OutDir != "" {
		if err := writeCharts(cfg.OutDir, results); err != nil {
			return results, err
		}
	}
	return results, nil
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (error: " + e + ")"
}

func runOne(ctx context.Context, cfg *Config, t Target, sc string) Result {
	r := Result{Scenario: sc, Target: t.Name(), Time: time.Now().UTC(), Params: map[string]any{}, Metrics: map[string]float64{}}
	if len(cfg.Notes) > 0 {
		r.Params["env"] = cfg.Notes
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Params["loadavg"] = strings.TrimSpace(string(load))
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cfg.progress(t.Name(), sc, "starting target")
	if err := t.Start(sctx); err != nil {
		r.Error = err.Error()
		return r
	}
	defer t.Stop()
	run := &scenarioRun{cfg: cfg, target: t, ep: t.Endpoint(), res: &r, name: sc}
	// Same server, subscribers on the scenario's transport.
	run.ep.Proto, _ = subscriberProto(t, sc)
	r.Params["proto"] = string(run.ep.Proto)
	var err error
	switch base, _ := splitScenario(sc); base {
	case "connect":
		err = run.connect(sctx)
	case "idle":
		err = run.idle(sctx)
	case "broadcast":
		err = run.broadcast(sctx)
	case "throughput":
		err = run.throughput(sctx)
	case "room":
		err = run.room(sctx)
	case "churn":
		err = run.churn(sctx)
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func (c *Config) progress(target, scenario, format string, a ...any) {
	fmt.Fprintf(c.Progress, "\r\033[K[%s] %s: %s", target, scenario, fmt.Sprintf(format, a...))
}

// writeCharts renders the comparison charts present in results.
func writeCharts(dir string, results []Result) error {
	var charts []struct {
		file string
		c    BarChart
	}
	add := func(file string, c BarChart) {
		if len(c.Series) > 0 {
			charts = append(charts, struct {
				file string
				c    BarChart
			}{file, c})
		}
	}
	pick := func(sc string, metrics []string) (series []string, values [][]float64) {
		for _, r := range results {
			if r.Scenario != sc || r.Error != "" || !isLargest(results, r) {
				continue
			}
			row := make([]float64, len(metrics))
			for i, m := range metrics {
				v, ok := r.Metrics[m]
				if !ok {
					v = math.NaN()
				}
				row[i] = v
			}
			series = append(series, r.Target)
			values = append(values, row)
		}
		return
	}
	for _, sc := range []string{"broadcast", "broadcast-sse", "broadcast-poll"} {
		s, v := pick(sc, []string{"p50_ms", "p99_ms", "p999_ms", "max_ms", "fanout_p50_ms", "fanout_max_ms"})
		add("latency-"+sc+".svg", BarChart{Title: sc + ": delivery latency and fan-out completion", Unit: "ms (log scale)", Log: true,
			Categories: []string{"p50", "p99", "p99.9", "max", "fan-out p50", "fan-out max"}, Series: s, Values: v})
	}
	s, v := pick("idle", []string{"rss_per_conn_kib"})
	add("memory-per-conn.svg", BarChart{Title: "idle: server RSS per connection", Unit: "KiB per connection", Categories: []string{"RSS per idle connection"}, Series: s, Values: v})
	s, v = pick("throughput", []string{"delivered_per_s"})
	add("throughput.svg", BarChart{Title: "throughput: delivered messages per second", Unit: "msgs/s", Categories: []string{"delivered/s"}, Series: s, Values: v})
	s, v = pick("throughput", []string{"cpu_s_per_m"})
	add("cpu-per-million.svg", BarChart{Title: "throughput: server CPU seconds per million deliveries", Unit: "CPU s / 1M", Categories: []string{"CPU s per 1M deliveries"}, Series: s, Values: v})
	for _, ch := range charts {
		f, err := os.Create(filepath.Join(dir, ch.file))
		if err != nil {
			return err
		}
		err = ch.c.WriteSVG(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(f, "```")
	WriteTable(f, results)
	fmt.Fprintln(f, "```")
	WriteRatios(f, results, RefTarget(results))
	return nil
}

// ReadResults loads a results.jsonl file.
func ReadResults(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return out, fmt.Errorf("bench: %s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Render rewrites the charts and report.md of a results folder from its
// results.jsonl, and returns the results.
func Render(dir string) ([]Result, error) {
	res, err := ReadResults(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return nil, err
	}
	return res, writeCharts(dir, res)
}

// splitScenario splits "broadcast-sse" into its load ("broadcast") and its
// subscribers' transport ("sse"; "" for the target's WebSocket).
func splitScenario(scenario string) (base, transport string) {
	base, transport, _ = strings.Cut(scenario, "-")
	return base, transport
}

// targetProto is the WebSocket protocol t speaks, known before Start.
func targetProto(t Target) Proto {
	switch t := t.(type) {
	case *Process:
		return t.Proto
	case *External:
		return t.Ep.Proto
	case *Cluster:
		return t.Proto
	}
	return t.Endpoint().Proto
}

// subscriberProto is the protocol scenario's subscribers speak to t, and
// whether t has that transport at all.
func subscriberProto(t Target, scenario string) (Proto, bool) {
	_, transport := splitScenario(scenario)
	proto := targetProto(t)
	if transport != "" && proto == ProtoComet && !servesHTTPTransports(t) {
		return proto, false // the baseline and the floor are WebSocket only
	}
	return overTransport(proto, transport)
}
