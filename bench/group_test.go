package bench

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// TestServeWorkerProtocol drives a worker over pipes, as the coordinator
// drives a "cometbench worker" process.
func TestServeWorkerProtocol(t *testing.T) {
	target := startBaseline(t)
	if err := target.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ep := target.Endpoint()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeWorker(inR, outW) }()
	enc, dec := json.NewEncoder(inW), json.NewDecoder(outR)
	call := func(req workerRequest) workerReply {
		t.Helper()
		if err := enc.Encode(req); err != nil {
			t.Fatal(err)
		}
		var rep workerReply
		if err := dec.Decode(&rep); err != nil {
			t.Fatal(err)
		}
		if rep.Err != "" {
			t.Fatal(rep.Err)
		}
		return rep
	}
	rep := call(workerRequest{Op: "dial", Dial: &dialJob{Endpoint: ep, Channels: []string{"w", "w", "w"}, Local: "127.0.0.2", Concurrency: 2, TimeoutMs: 5000, FanoutSlots: 5}})
	if rep.Dial.Opened != 3 || rep.Dial.Failed != 0 {
		t.Fatalf("dial %+v", rep.Dial)
	}
	pub := NewPublisher(ep, 1)
	defer pub.Close()
	for i := int64(0); i < 5; i++ {
		if _, err := pub.Publish(context.Background(), "w", Payload(nil, i, time.Now(), 0)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for call(workerRequest{Op: "count"}).Count < 15 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r := call(workerRequest{Op: "report", Published: &publishedSet{Count: map[string]int64{"w": 6}}}).Report
	// Six were "published" but five sent: one loss per subscriber.
	if r.Deliveries != 15 || r.Unique != 15 || r.Lost != 3 || r.Open != 3 || len(r.FanoutLast) != 5 {
		t.Fatalf("report %+v", r)
	}
	call(workerRequest{Op: "close"})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
