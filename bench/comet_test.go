package bench

import (
	"context"
	"testing"
	"time"

	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/server"
)

func startComet(t *testing.T) Target {
	t.Helper()
	engine, err := memory.New(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", APIKey: "k", Loops: 2, Broker: engine, MaxConnsPerIP: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &External{Label: "comet", Ep: Endpoint{Proto: ProtoComet, Addr: srv.Addr(), APIKey: "k"}, HTTPTransports: true}
}

func TestCometBroadcastLosesNothing(t *testing.T) {
	r := runScenario(t, smallConfig(startComet(t)), "broadcast")
	m := r.Metrics
	if m["subs"] != 10 || m["msgs"] != 20 || m["deliveries"] != 200 || m["lost"] != 0 || m["dups"] != 0 || m["failed"] != 0 {
		t.Fatalf("metrics %v notes %v", m, r.Notes)
	}
	if m["seq_missing"] != 0 || m["seq_repeats"] != 0 {
		t.Fatalf("server seq gaps: %v", m)
	}
}

func TestCometThroughputLosesNothing(t *testing.T) {
	r := runScenario(t, smallConfig(startComet(t)), "throughput")
	m := r.Metrics
	if m["failed"] != 0 || m["lost"] != 0 || m["dups"] != 0 || m["published"] == 0 || m["deliveries"] != 2*m["published"] {
		t.Fatalf("metrics %v notes %v", m, r.Notes)
	}
}

func TestCometHTTPTransportsLoseNothing(t *testing.T) {
	for _, sc := range []string{"broadcast-sse", "broadcast-poll"} {
		t.Run(sc, func(t *testing.T) {
			r := runScenario(t, smallConfig(startComet(t)), sc)
			m := r.Metrics
			if m["subs"] != 10 || m["deliveries"] != 200 || m["lost"] != 0 || m["dups"] != 0 || m["failed"] != 0 {
				t.Fatalf("metrics %v notes %v", m, r.Notes)
			}
		})
	}
}
