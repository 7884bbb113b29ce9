package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestWriteRatiosUsesLargestBroadcast(t *testing.T) {
	res := []Result{
		{Scenario: "broadcast", Target: "comet", Params: map[string]any{"subs": 10}, Metrics: map[string]float64{"p99_ms": 1, "fanout_max_ms": 1}},
		{Scenario: "broadcast", Target: "peer", Params: map[string]any{"subs": 10}, Metrics: map[string]float64{"p99_ms": 1, "fanout_max_ms": 1}},
		{Scenario: "broadcast", Target: "comet", Params: map[string]any{"subs": 100}, Metrics: map[string]float64{"p99_ms": 2, "fanout_max_ms": 3}},
		{Scenario: "broadcast", Target: "peer", Params: map[string]any{"subs": 100}, Metrics: map[string]float64{"p99_ms": 8, "fanout_max_ms": 12}},
		{Scenario: "idle", Target: "comet", Params: map[string]any{}, Metrics: map[string]float64{"rss_per_conn_kib": 2}},
		{Scenario: "idle", Target: "peer", Params: map[string]any{}, Metrics: map[string]float64{"rss_per_conn_kib": 20}},
	}
	var b bytes.Buffer
	WriteRatios(&b, res, "comet")
	out := b.String()
	for _, want := range []string{"| idle: memory per connection (lower is better) | 0.10 |", "| broadcast: fan-out completion max (lower is better) | 0.25 |", "| broadcast: p99 latency (lower is better) | 0.25 |", "| broadcast: server CPU per delivery (lower is better) | n/a |"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "throughput") {
		t.Errorf("a row for a scenario comet did not run:\n%s", out)
	}
	b.Reset()
	WriteRatios(&b, res[1:2], "comet")
	if b.Len() != 0 {
		t.Errorf("ratios without the reference target: %q", b.String())
	}
}

// TestWriteRatiosFloorAndNchanFirst: the floor's and nchan's columns come
// first, whatever order the targets ran in.
func TestWriteRatiosFloorAndNchanFirst(t *testing.T) {
	var res []Result
	for i, target := range []string{"comet", "baseline", "nchan", "floor"} {
		res = append(res, Result{Scenario: "room", Target: target, Params: map[string]any{},
			Metrics: map[string]float64{"delivered_per_s": float64(100 * (i + 1)), "p50_ms": 1, "p99_ms": 1, "cpu_ns_per_delivery": 1}})
	}
	var b bytes.Buffer
	WriteRatios(&b, res, "comet")
	out := b.String()
	for _, want := range []string{"| comet / peer | floor | nchan | baseline |", "| room: delivered msgs/s (higher is better) | 0.25 | 0.33 | 0.50 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestWriteJSONLineDropsNaN(t *testing.T) {
	var b bytes.Buffer
	err := writeJSONLine(&b, Result{Scenario: "idle", Target: "x", Metrics: map[string]float64{"a": 1, "b": math.NaN(), "c": math.Inf(1)}})
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(b.Bytes(), &r); err != nil || len(r.Metrics) != 1 || r.Metrics["a"] != 1 {
		t.Fatalf("round trip %v %v: %s", r.Metrics, err, b.String())
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("}\n")) || bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", b.String())
	}
}
