package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario run against one target: one JSON line in
// results.jsonl.
type Result struct {
	Scenario string             `json:"scenario"`
	Target   string             `json:"target"`
	Time     time.Time          `json:"time"`
	Params   map[string]any     `json:"params"`
	Metrics  map[string]float64 `json:"metrics"`
	Notes    []string           `json:"notes,omitempty"`
	Error    string             `json:"error,omitempty"`
}

// Metric columns shown in the human table, per scenario, in order.
var tableColumns = map[string][]string{
	"connect":    {"opened", "failed", "conns_per_s", "handshake_p50_ms", "handshake_p99_ms", "handshake_max_ms", "cpu_us_per_conn"},
	"idle":       {"conns", "failed", "rss_base_mib", "rss_loaded_mib", "rss_per_conn_kib", "idle_cpu_pct", "threads", "closed_by_server"},
	"broadcast":  {"subs", "msgs", "deliveries", "lost", "dups", "p50_ms", "p99_ms", "p999_ms", "max_ms", "fanout_p50_ms", "fanout_max_ms", "cpu_s", "cpu_ns_per_delivery"},
	"throughput": {"conns", "published_per_s", "delivered_per_s", "cpu_ns_per_delivery", "lost", "dups", "p50_ms", "p99_ms", "publish_errors"},
	"room":       {"subs", "published_per_s", "delivered_per_s", "cpu_ns_per_delivery", "lost", "dups", "p50_ms", "p99_ms", "max_ms", "accept_p50_ms", "publish_errors"},
	"churn":      {"stable", "churn_opened", "churn_failed", "lost", "rss_before_mib", "rss_peak_mib", "rss_after_mib", "threads_before", "threads_peak", "threads_after", "cpu_us_per_conn", "closed_by_server"},
}

// groupColumns are shown where some target of the scenario has them: a
// cluster target's CPU per million deliveries, in all and by group.
var groupColumns = []string{"cpu_s_per_m", "cpu_s_per_m_nodes", "cpu_s_per_m_proxy", "cpu_s_per_m_redis", "cpu_us_per_publish_redis"}

// scenarioOrder is the canonical order of scenarios in output.
var scenarioOrder = Scenarios

func columnsFor(scenario string) []string {
	base, _, _ := strings.Cut(scenario, "-")
	return tableColumns[base]
}

// WriteTable prints results grouped by scenario, one row per target.
func WriteTable(w io.Writer, results []Result) {
	byScenario := map[string][]Result{}
	var order []string
	for _, r := range results {
		if _, ok := byScenario[r.Scenario]; !ok {
			order = append(order, r.Scenario)
		}
		byScenario[r.Scenario] = append(byScenario[r.Scenario], r)
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return slices.Index(scenarioOrder, a) - slices.Index(scenarioOrder, b)
	})
	for _, sc := range order {
		cols := columnsFor(sc)
		// A cluster's CPU, per million deliveries, by process group.
		for _, c := range groupColumns {
			for _, r := range byScenario[sc] {
				if _, ok := r.Metrics[c]; ok {
					cols = append(cols, c)
					break
				}
			}
		}
		fmt.Fprintf(w, "\n== %s\n", sc)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "target\t")
		for _, c := range cols {
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprintln(tw)
		for _, r := range byScenario[sc] {
			fmt.Fprintf(tw, "%s\t", r.Target)
			for _, c := range cols {
				v, ok := r.Metrics[c]
				if !ok {
					fmt.Fprint(tw, "-\t")
					continue
				}
				fmt.Fprintf(tw, "%s\t", formatMetric(v))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		for _, r := range byScenario[sc] {
			if r.Error != "" {
				fmt.Fprintf(w, "  %s: ERROR %s\n", r.Target, r.Error)
			}
			for _, n := range r.Notes {
				fmt.Fprintf(w, "  %s: %s\n", r.Target, n)
			}
		}
	}
}

func formatMetric(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e12:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// Ratio is one "Comet / peer" comparison figure.
type Ratio struct {
	Label, Scenario, Metric string
	LowerIsBetter           bool
}

// Ratios are the comparisons docs/BENCHMARKS.md reports; a broadcast sweep
// is compared at its largest N.
var Ratios = []Ratio{
	{"connect: connections/s", "connect", "conns_per_s", false},
	{"idle: memory per connection", "idle", "rss_per_conn_kib", true},
	{"broadcast: fan-out completion max", "broadcast", "fanout_max_ms", true},
	{"broadcast: p99 latency", "broadcast", "p99_ms", true},
	{"broadcast: server CPU per delivery", "broadcast", "cpu_ns_per_delivery", true},
	{"broadcast: cluster nodes' CPU per delivery", "broadcast", "cpu_s_per_m_nodes", true},
	{"broadcast: Redis CPU per delivery", "broadcast", "cpu_s_per_m_redis", true},
	{"room: delivered msgs/s", "room", "delivered_per_s", false},
	{"room: p50 latency", "room", "p50_ms", true},
	{"room: p99 latency", "room", "p99_ms", true},
	{"room: server CPU per delivery", "room", "cpu_ns_per_delivery", true},
	{"room: cluster nodes' CPU per delivery", "room", "cpu_s_per_m_nodes", true},
	{"room: Redis CPU per delivery", "room", "cpu_s_per_m_redis", true},
	{"room: Redis CPU per publish", "room", "cpu_us_per_publish_redis", true},
	{"throughput: delivered msgs/s", "throughput", "delivered_per_s", false},
	{"throughput: p50 latency", "throughput", "p50_ms", true},
	{"throughput: server CPU per delivery", "throughput", "cpu_ns_per_delivery", true},
	{"throughput: cluster nodes' CPU per delivery", "throughput", "cpu_s_per_m_nodes", true},
	{"throughput: Redis CPU per publish", "throughput", "cpu_us_per_publish_redis", true},
	{"broadcast-sse: fan-out completion max", "broadcast-sse", "fanout_max_ms", true},
	{"broadcast-sse: p99 latency", "broadcast-sse", "p99_ms", true},
	{"broadcast-poll: fan-out completion max", "broadcast-poll", "fanout_max_ms", true},
	{"broadcast-poll: p99 latency", "broadcast-poll", "p99_ms", true},
	{"room-sse: delivered msgs/s", "room-sse", "delivered_per_s", false},
	{"room-poll: delivered msgs/s", "room-poll", "delivered_per_s", false},
}

// ratioFirst are the peers whose columns come first in the ratio table: the
// floor (the physical limit) and nchan (the closest peer).
var ratioFirst = []string{"floor", "nchan"}

// WriteRatios prints ref/peer for each Ratio as a Markdown table, one column
// per other target, the floor and nchan first; ref is the target the others
// are compared with ("comet"). Rows for scenarios ref did not run are left
// out.
func WriteRatios(w io.Writer, results []Result, ref string) {
	find := func(target, scenario string) (Result, bool) {
		for _, r := range results {
			if r.Target == target && r.Scenario == scenario && r.Error == "" && isLargest(results, r) {
				return r, true
			}
		}
		return Result{}, false
	}
	var peers []string
	hasRef := false
	for _, r := range results {
		hasRef = hasRef || r.Target == ref
		if r.Target != ref && !slices.Contains(peers, r.Target) {
			peers = append(peers, r.Target)
		}
	}
	if len(peers) == 0 || !hasRef {
		return
	}
	rank := func(p string) int {
		if i := slices.Index(ratioFirst, p); i >= 0 {
			return i
		}
		return len(ratioFirst)
	}
	slices.SortStableFunc(peers, func(a, b string) int { return rank(a) - rank(b) })
	fmt.Fprintf(w, "\n| %s / peer |", ref)
	for _, p := range peers {
		fmt.Fprintf(w, " %s |", p)
	}
	fmt.Fprint(w, "\n|---|")
	for range peers {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, q := range Ratios {
		if r, ok := find(ref, q.Scenario); !ok {
			continue
		} else if _, has := r.Metrics[q.Metric]; !has && slices.Contains(groupColumns, q.Metric) {
			continue // a cluster's CPU by group: a single server has none
		}
		dir := "higher is better"
		if q.LowerIsBetter {
			dir = "lower is better"
		}
		fmt.Fprintf(w, "| %s (%s) |", q.Label, dir)
		for _, p := range peers {
			a, ok1 := find(ref, q.Scenario)
			b, ok2 := find(p, q.Scenario)
			av, bv := a.Metrics[q.Metric], b.Metrics[q.Metric]
			if !ok1 || !ok2 || bv == 0 || math.IsNaN(av) || math.IsNaN(bv) {
				fmt.Fprint(w, " n/a |")
				continue
			}
			fmt.Fprintf(w, " %.2f |", av/bv)
		}
		fmt.Fprintln(w)
	}
}

// RefTarget is the target the ratios compare the others with: "comet"
// when it ran, else the first Comet target ("comet-cluster"), else "comet".
func RefTarget(results []Result) string {
	for _, r := range results {
		if r.Target == "comet" {
			return "comet"
		}
	}
	for _, r := range results {
		if strings.HasPrefix(r.Target, "comet") {
			return r.Target
		}
	}
	return "comet"
}

// writeJSONLine appends r to w as one line.
// JSON has no NaN or infinity, so such metrics are left out.
func writeJSONLine(w io.Writer, r Result) error {
	clean := make(map[string]float64, len(r.Metrics))
	for k, v := range r.Metrics {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			clean[k] = v
		}
	}
	r.Metrics = clean
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// isLargest reports whether r is the run with the most subscribers among
// the runs of its scenario (a broadcast sweep); scenarios without "subs"
// have one run.
func isLargest(results []Result, r Result) bool {
	for _, o := range results {
		if o.Scenario == r.Scenario && o.Error == "" && o.Params["subs"] != nil && paramInt(o.Params["subs"]) > paramInt(r.Params["subs"]) {
			return false
		}
	}
	return true
}

// paramInt reads an integer parameter that may have gone through JSON.
func paramInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}
