package bench

import (
	"context"
	"testing"
	"time"

	"github.com/comet-im/comet/bench/floor"
)

func startFloor(t *testing.T) Target {
	t.Helper()
	srv := floor.New("k")
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &External{Label: "floor", Ep: Endpoint{Proto: ProtoComet, Addr: srv.Addr(), APIKey: "k"}}
}

// TestFloorEveryScenario runs the floor through every WebSocket scenario:
// it speaks enough of Comet's protocol for all of them, and loses nothing.
func TestFloorEveryScenario(t *testing.T) {
	t.Parallel() // churn waits for its settle; let it overlap the baseline's
	cfg := smallConfig(startFloor(t))
	for _, sc := range []string{"connect", "idle", "broadcast", "throughput", "room", "churn"} {
		t.Run(sc, func(t *testing.T) {
			r := runScenario(t, cfg, sc)
			m := r.Metrics
			if m["failed"] != 0 || m["lost"] != 0 || m["dups"] != 0 || m["seq_missing"] != 0 || m["seq_repeats"] != 0 || m["closed_by_server"] != 0 {
				t.Fatalf("metrics %v notes %v", m, r.Notes)
			}
			switch sc {
			case "broadcast":
				if m["deliveries"] != 200 {
					t.Fatalf("deliveries %v, want 200", m["deliveries"])
				}
			case "throughput":
				if m["deliveries"] != 2*m["published"] {
					t.Fatalf("metrics %v", m)
				}
			case "room":
				if m["published"] == 0 || m["deliveries"] != 10*m["published"] || m["delivered_per_s"] <= 0 || m["publish_errors"] != 0 {
					t.Fatalf("metrics %v", m)
				}
			}
		})
	}
}

// TestFloorHasNoHTTPTransports: the SSE and long-poll scenarios skip the
// floor, as they skip the baseline.
func TestFloorHasNoHTTPTransports(t *testing.T) {
	cfg := smallConfig(startFloor(t))
	cfg.Scenarios = []string{"broadcast-sse", "idle-poll", "room-sse"}
	res, err := Run(context.Background(), cfg)
	if err != nil || len(res) != 0 {
		t.Fatalf("floor got SSE/poll results %v, %v", res, err)
	}
}
