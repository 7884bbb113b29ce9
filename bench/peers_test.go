//go:build peers

// Peer adapter tests need nginx with nchan and a Centrifugo binary; run them
// with `go test -tags peers ./bench/...` after bench/peers/install.sh (make
// bench-compare does both). A missing peer fails here, it is never skipped.
package bench

import (
	"os"
	"testing"
)

func peerOptions(t *testing.T) TargetOptions {
	o := TargetOptions{NginxBin: "nginx", CentrifugoBin: os.Getenv("CENTRIFUGO_BIN"), APIKey: "k", Workers: 1, HistorySize: 10}
	if o.CentrifugoBin == "" {
		o.CentrifugoBin = DefaultCentrifugoBin()
	}
	return o
}

func testPeer(t *testing.T, target Target, scenarios ...string) {
	cfg := smallConfig(target)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			r := runScenario(t, cfg, sc)
			m := r.Metrics
			if m["failed"] != 0 || m["lost"] != 0 || m["dups"] != 0 {
				t.Fatalf("metrics %v notes %v", m, r.Notes)
			}
			switch base, _ := splitScenario(sc); base {
			case "broadcast":
				if m["deliveries"] != 200 {
					t.Fatalf("deliveries %v, want 200", m["deliveries"])
				}
			case "room":
				if m["published"] == 0 || m["deliveries"] != 10*m["published"] {
					t.Fatalf("metrics %v", m)
				}
			case "idle":
				if m["rss_base_mib"] <= 0 || m["server_procs"] < 1 {
					t.Fatalf("server not measured: %v", m)
				}
			}
		})
	}
}

func TestNchanAdapter(t *testing.T) {
	o := peerOptions(t)
	if !NchanAvailable(o.NginxBin) {
		t.Fatal("nginx with nchan not installed: run bench/peers/install.sh")
	}
	testPeer(t, NchanTarget(o), "broadcast", "throughput", "room", "idle", "broadcast-sse", "idle-sse", "broadcast-poll", "idle-poll")
}

func TestCentrifugoAdapter(t *testing.T) {
	o := peerOptions(t)
	if _, err := os.Stat(o.CentrifugoBin); err != nil {
		t.Fatalf("centrifugo not built: run bench/peers/install.sh: %v", err)
	}
	testPeer(t, CentrifugoTarget(o), "broadcast", "throughput", "room", "idle", "broadcast-sse", "idle-sse")
}
