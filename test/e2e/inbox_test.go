//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// kill -9 of a node while a backend publishes to a user's inbox: after a
// restart on the same data directory, every publish that was
// acknowledged is in the user's log, in order, none twice (the one in
// flight at the kill may be there or not, once at most).
func TestInboxSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-auth", "jwt", "-jwt-secret", "an-e2e-secret-of-at-least-32-bytes!", "-api-key", apiKey,
		"-data-dir", dir, "-inbox-durability", "always"}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s, err := startAt(addr, args)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, s.log)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	publish := func(url string, n int) (uint64, error) {
		body := fmt.Sprintf(`{"user":"alice","data":{"n":%d},"idempotency_key":"k-%d"}`, n, n)
		req, _ := http.NewRequest("POST", url+"/api/publish", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var r struct{ Seq uint64 }
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&r) != nil {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return r.Seq, nil
	}
	// Publish until the kill: the kill comes from another goroutine after
	// 200 acknowledgements, while publishes keep coming.
	acked := map[int]uint64{}
	killed := make(chan struct{})
	n := 0
	for ; n < 5000; n++ {
		if n == 200 {
			go func() {
				_ = s.cmd.Process.Kill()
				<-s.exited
				close(killed)
			}()
		}
		seq, err := publish(s.URL, n)
		if err != nil {
			break
		}
		acked[n] = seq
	}
	<-killed
	if len(acked) < 200 {
		t.Fatalf("only %d publishes acknowledged before the kill", len(acked))
	}

	s2 := startServer(t, args...)
	var entries []struct {
		Seq  uint64
		Data struct{ N int }
	}
	after := uint64(0)
	for {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/inbox/entries?user=alice&after=%d&limit=1000", s2.URL, after), nil)
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Next    uint64
			More    bool
			Entries []struct {
				Seq  uint64
				Data struct{ N int }
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("entries after %d: %d %v", after, resp.StatusCode, err)
		}
		entries = append(entries, page.Entries...)
		if !page.More {
			break
		}
		after = page.Next
	}
	seen := map[int]bool{}
	last := -1
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d: the log has a hole", i, e.Seq)
		}
		if seen[e.Data.N] || e.Data.N <= last {
			t.Fatalf("message %d twice or out of order (after %d)", e.Data.N, last)
		}
		seen[e.Data.N], last = true, e.Data.N
	}
	for m, seq := range acked {
		if !seen[m] {
			t.Fatalf("acknowledged message %d (seq %d) lost in the kill; the log holds %d entries", m, seq, len(entries))
		}
		if entries[seq-1].Data.N != m {
			t.Fatalf("message %d was acknowledged as seq %d, which holds %d", m, seq, entries[seq-1].Data.N)
		}
	}
	if extra := len(entries) - len(acked); extra > 1 {
		t.Fatalf("%d entries beyond the acknowledged ones: only the one in flight may be", extra)
	}
	t.Logf("%d acknowledged before kill -9, %d in the log after the restart", len(acked), len(entries))
}
