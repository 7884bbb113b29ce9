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
	for _, want := range []string{"| memory per idle connection (lower is better) | 0.10 |", "| fan-out completion (max) (lower is better) | 0.25 |", "| p99 latency at largest N (lower is better) | 0.25 |", "| delivered msgs/s (higher is better) | n/a |"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	b.Reset()
	WriteRatios(&b, res[1:2], "comet")
	if b.Len() != 0 {
		t.Errorf("ratios without the reference target: %q", b.String())
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
