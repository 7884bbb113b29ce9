package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
)

// Long-poll and short poll (GET /poll), docs/PROTOCOL.md "Long-poll and
// short poll".

// A parked poll is answered by a message published while it waits, soon
// after the publish, and not before.
func TestPollParkedReceivesPublish(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()

	// net/http: a first poll "from now" parks (default hold 25 s) until
	// the publish.
	done := asyncPoll(addr, "ch", "room:1")
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == 1 })
	select {
	case r := <-done:
		t.Fatalf("poll answered before anything was published: %+v %v", r.a.Raw, r.err)
	default:
	}
	published := time.Now()
	if _, err := srv.Publish("room:1", []byte(`{"text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	r := awaitPoll(t, done)
	if took := r.when.Sub(published); took > time.Second {
		t.Fatalf("parked poll answered %v after the publish", took)
	}
	if len(r.a.Msgs) != 1 || r.a.Msgs[0].Seq != 1 || r.a.Msgs[0].Ch != "room:1" || string(r.a.Msgs[0].Data) != `{"text":"hi"}` {
		t.Fatalf("parked poll answer: %s", r.a.Raw)
	}
	names, pos := parseCursor(t, r.a.Cursor)
	if len(names) != 1 || names[0] != "room:1" || pos["room:1"].Seq != 1 {
		t.Fatalf("cursor %q", r.a.Cursor)
	}
	epoch := pos["room:1"].Epoch

	// curl: the same with the next cursor, woken by the backend API.
	parked := srv.Stats().PollsParked
	type curlRes struct {
		r   curlResult
		err error
	}
	curlDone := make(chan curlRes, 1)
	curl, dir := requireCurl(t), t.TempDir()
	go func() {
		res, err := runCurl(curl, dir, trURL(addr, "/poll", "cursor", r.a.Cursor, "wait", "10"))
		curlDone <- curlRes{res, err}
	}()
	waitUntil(t, "curl's poll to park", func() bool { return srv.Stats().PollsParked == parked+1 })
	if status, body := httpPublish(t, addr, "", `{"channel":"room:1","data":"two"}`); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	var cr curlRes
	select {
	case cr = <-curlDone:
	case <-time.After(10 * time.Second):
		t.Fatal("curl's parked poll not answered")
	}
	if cr.err != nil {
		t.Fatal(cr.err)
	}
	a, err := decodePollAnswer([]byte(cr.r.Body))
	if err != nil || cr.r.Status != 200 {
		t.Fatalf("curl poll: %d %v", cr.r.Status, err)
	}
	if len(a.Msgs) != 1 || a.Msgs[0].Seq != 2 || string(a.Msgs[0].Data) != `"two"` || a.Cursor != "room:1~"+epoch+"~2" {
		t.Fatalf("curl poll answer: %s", a.Raw)
	}
}

// The cursor is the acknowledgement: what is published between two polls
// comes with the next one, at once, from history; on several channels.
func TestPollBetweenPollsFromHistory(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()
	// Each channel holds a message first, so that no idle-channel sweep
	// can change its epoch between polls (see TestPollCursorSurvivesIdleSweep).
	mustPublish(t, srv, "a", 0)
	mustPublish(t, srv, "b", 0)
	c0 := mustPoll(t, addr, "ch", "a", "ch", "b", "wait", "0")
	names, pos0 := parseCursor(t, c0.Cursor)
	if strings.Join(names, ",") != "a,b" || pos0["a"].Seq != 1 || pos0["b"].Seq != 1 || len(c0.Msgs) != 0 {
		t.Fatalf("first poll %s", c0.Raw)
	}
	for i := 2; i <= 4; i++ {
		mustPublish(t, srv, "a", i)
	}
	mustPublish(t, srv, "b", 2)

	parked := srv.Stats().PollsParked
	start := time.Now()
	a := mustPoll(t, addr, "cursor", c0.Cursor) // default hold: must not wait
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("poll with a backlog took %v", took)
	}
	if srv.Stats().PollsParked != parked {
		t.Fatal("a poll with a backlog was parked")
	}
	var as, bs []trMsg
	for _, m := range a.Msgs {
		if m.Ch == "a" {
			as = append(as, m)
		} else {
			bs = append(bs, m)
		}
	}
	checkMsgs(t, as, "a", 2, 4, true)
	checkMsgs(t, bs, "b", 2, 2, true)
	if a.Gap != nil || strings.Contains(a.Raw, "gap") {
		t.Fatalf("unexpected gap: %s", a.Raw)
	}
	_, pos := parseCursor(t, a.Cursor)
	if pos["a"] != (trPosition{pos0["a"].Epoch, 4}) || pos["b"] != (trPosition{pos0["b"].Epoch, 2}) {
		t.Fatalf("cursor after the backlog %q", a.Cursor)
	}

	// Nothing new: the next short poll is empty and keeps the cursor.
	e := mustPoll(t, addr, "cursor", a.Cursor, "wait", "0")
	if len(e.Msgs) != 0 || e.Cursor != a.Cursor {
		t.Fatalf("up-to-date poll: %s (cursor was %q)", e.Raw, a.Cursor)
	}
	// One more, between polls, on b only.
	mustPublish(t, srv, "b", 3)
	n := mustPoll(t, addr, "cursor", e.Cursor)
	checkMsgs(t, n.Msgs, "b", 3, 3, true)
	// A cursor combined with a ch naming a channel it already has: the
	// cursor's position wins, nothing is duplicated.
	d := mustPoll(t, addr, "cursor", a.Cursor, "ch", "b", "wait", "0")
	checkMsgs(t, d.Msgs, "b", 3, 3, true)
}

// A hold that ends with nothing answers "msgs":[] with the same cursor,
// after PollHold, or after wait=N seconds when that is shorter.
func TestPollHoldExpiry(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, PollHold: 300 * time.Millisecond})
	addr := srv.Addr()
	mustPublish(t, srv, "quiet", 1) // history keeps the channel (and its epoch)
	c := mustPoll(t, addr, "ch", "quiet", "wait", "0").Cursor
	for _, wait := range []string{"", "1", "25"} { // no wait, and waits capped by PollHold
		kv := []string{"cursor", c}
		if wait != "" {
			kv = append(kv, "wait", wait)
		}
		parked := srv.Stats().PollsParked
		start := time.Now()
		a := mustPoll(t, addr, kv...)
		took := time.Since(start)
		if took < 250*time.Millisecond || took > 3*time.Second {
			t.Errorf("wait=%q: answered after %v, want about 300ms", wait, took)
		}
		if !strings.Contains(a.Raw, `"msgs":[]`) || a.Cursor != c || a.Gap != nil {
			t.Errorf("wait=%q: expired hold answered %s, want msgs [] and cursor %q", wait, a.Raw, c)
		}
		if srv.Stats().PollsParked != parked+1 {
			t.Errorf("wait=%q: the poll was not parked", wait)
		}
	}

	// wait=1 below a long PollHold: about one second, through curl. A
	// first poll "from now" keeps its position too.
	srv2 := startServer(t, Config{Tick: 10 * time.Millisecond})
	start := time.Now()
	r := mustCurl(t, trURL(srv2.Addr(), "/poll", "ch", "quiet", "wait", "1"))
	took := time.Since(start)
	if took < 900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("wait=1 answered after %v", took)
	}
	a, err := decodePollAnswer([]byte(r.Body))
	if err != nil || r.Status != 200 || len(a.Msgs) != 0 || !strings.HasPrefix(a.Cursor, "quiet~") || !strings.HasSuffix(a.Cursor, "~0") {
		t.Fatalf("wait=1: %d %q %v", r.Status, r.Body, err)
	}
}

// wait=0 answers at once, parks nothing, and still delivers a backlog.
func TestPollShortWaitZero(t *testing.T) {
	srv := startServer(t, Config{}) // PollHold 25 s
	addr := srv.Addr()
	mustPublish(t, srv, "sp", 1)
	start := time.Now()
	a := mustPoll(t, addr, "ch", "sp", "wait", "0")
	if took := time.Since(start); took > time.Second {
		t.Fatalf("short poll took %v", took)
	}
	if !strings.Contains(a.Raw, `"msgs":[]`) || !strings.HasSuffix(a.Cursor, "~1") {
		t.Fatalf("short poll: %s", a.Raw)
	}
	for i := 2; i <= 3; i++ {
		mustPublish(t, srv, "sp", i)
	}
	b := mustPoll(t, addr, "cursor", a.Cursor, "wait", "0")
	checkMsgs(t, b.Msgs, "sp", 2, 3, true)
	c := mustPoll(t, addr, "cursor", b.Cursor, "wait", "0")
	if len(c.Msgs) != 0 || c.Cursor != b.Cursor {
		t.Fatalf("short poll at the head: %s", c.Raw)
	}
	if n := srv.Stats().PollsParked; n != 0 {
		t.Fatalf("%d short polls were parked", n)
	}
}

// 10,000 messages published in bursts while a client chains polls, each
// with the previous answer's cursor: all arrive, in order, exactly once,
// in answers of at most PollBatch.
func TestPollTenThousandChained(t *testing.T) {
	const total, batch = 10000, 500
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, HistorySize: total, PollBatch: batch})
	addr := srv.Addr()
	// Seq 1 first, so the channel (and its epoch) exists before the chain
	// starts; the chain starts at seq 0 of that epoch, a position built as
	// comet.js builds them.
	mustPublish(t, srv, "big", 1)
	_, pos := parseCursor(t, mustPoll(t, addr, "ch", "big", "wait", "0").Cursor)
	cursor := "big~" + pos["big"].Epoch + "~0"

	// Publish straight to the in-process engine: on the delayed engine too
	// the bursts must come faster than the poller, which is what is tested.
	engine := engineOf(t, srv)
	var received atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		// Burst sizes around and well over the batch; after some bursts
		// the publisher waits for the poller to catch up, so its next
		// poll parks and is woken by the following burst.
		sizes := []int{1, 13, 700, 1999, 50, 1, 499, 500, 501, 2}
		seq := 1
		for b := 0; seq < total; b++ {
			n := min(sizes[b%len(sizes)], total-seq)
			for range n {
				seq++
				if _, err := engine.Publish(context.Background(), "big", []byte(strconv.Itoa(seq)), broker.PublishOptions{}); err != nil {
					pubErr <- err
					return
				}
			}
			if b%2 == 0 {
				deadline := time.Now().Add(10 * time.Second)
				for received.Load() < int64(seq) {
					if time.Now().After(deadline) {
						pubErr <- fmt.Errorf("poller stuck at %d of %d", received.Load(), seq)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
		pubErr <- nil
	}()

	var next uint64 = 1
	polls, full := 0, 0
	deadline := time.Now().Add(30 * time.Second)
	for next <= total {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages after %d polls", next-1, total, polls)
		}
		a := mustPoll(t, addr, "cursor", cursor, "wait", "5")
		polls++
		if len(a.Msgs) > batch {
			t.Fatalf("answer of %d msgs, over PollBatch %d", len(a.Msgs), batch)
		}
		if len(a.Msgs) == batch {
			full++
		}
		if a.Gap != nil {
			t.Fatalf("gap with history holding everything: %v", a.Gap)
		}
		for _, m := range a.Msgs {
			if m.Ch != "big" || m.Seq != next || string(m.Data) != strconv.FormatUint(next, 10) {
				t.Fatalf("poll %d: got seq %d data %s, want %d (duplicate or loss)", polls, m.Seq, m.Data, next)
			}
			next++
		}
		_, pos := parseCursor(t, a.Cursor)
		if pos["big"].Seq != next-1 {
			t.Fatalf("cursor %q after seq %d", a.Cursor, next-1)
		}
		cursor = a.Cursor
		received.Store(int64(next - 1))
	}
	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	if full == 0 {
		t.Fatal("no answer was cut at PollBatch: the batching was not exercised")
	}
	// On the delayed engine the next burst usually lands while a poll is
	// still joining, which answers it at once; the memory engine's run
	// covers the wake-up path.
	if srv.Stats().PollsParked == 0 && !delayedEngines() {
		t.Fatal("no poll was ever parked: the wake-up path was not exercised")
	}
	// Nothing more.
	if a := mustPoll(t, addr, "cursor", cursor, "wait", "0"); len(a.Msgs) != 0 {
		t.Fatalf("extra messages after %d: %s", total, seqList(a.Msgs))
	}
	t.Logf("%d messages in %d polls (%d full batches, %d parked)", total, polls, full, srv.Stats().PollsParked)
}

// When history no longer reaches back, the answer names the channel in
// "gap" and still replays what is kept; a position of another epoch or
// from the future is a gap too.
func TestPollGapWhenHistoryGone(t *testing.T) {
	srv := startServer(t, Config{Tick: 10 * time.Millisecond, HistorySize: 5})
	addr := srv.Addr()
	for i := 1; i <= 12; i++ {
		mustPublish(t, srv, "g", i)
	}
	mustPublish(t, srv, "ok", 1)
	_, pos := parseCursor(t, mustPoll(t, addr, "ch", "g", "ch", "ok", "wait", "0").Cursor)
	epoch := pos["g"].Epoch
	c0 := "g~" + epoch + "~0!ok~" + pos["ok"].Epoch + "~0"

	a := mustPoll(t, addr, "cursor", c0)
	if len(a.Gap) != 1 || a.Gap[0] != "g" {
		t.Fatalf("gap %v, want [g]: %s", a.Gap, a.Raw)
	}
	if len(a.Missed) != 1 || a.Missed["g"] != 7 { // seqs 1 to 7 are gone
		t.Fatalf("missed %v, want g: 7: %s", a.Missed, a.Raw)
	}
	var gs, oks []trMsg
	for _, m := range a.Msgs {
		if m.Ch == "g" {
			gs = append(gs, m)
		} else {
			oks = append(oks, m)
		}
	}
	checkMsgs(t, gs, "g", 8, 12, true) // the 5 kept
	checkMsgs(t, oks, "ok", 1, 1, true)
	_, pos = parseCursor(t, a.Cursor)
	if pos["g"] != (trPosition{epoch, 12}) {
		t.Fatalf("cursor after a gap %q", a.Cursor)
	}
	// Caught up: no gap any more.
	b := mustPoll(t, addr, "cursor", a.Cursor, "wait", "0")
	if b.Gap != nil || strings.Contains(b.Raw, "gap") || len(b.Msgs) != 0 {
		t.Fatalf("after the gap: %s", b.Raw)
	}

	for _, tc := range []struct {
		name, pos string
		missed    uint64
	}{
		{"another epoch", "g~zz0other.1~12", 0}, // nothing of another stream can be counted
		{"an epoch-less future seq", "g~" + epoch + "~99", 0},
		{"seq 3 of this epoch (gone)", "g~" + epoch + "~3", 4},
	} {
		p := mustPoll(t, addr, "ch", tc.pos, "wait", "0")
		if len(p.Gap) != 1 || p.Gap[0] != "g" {
			t.Errorf("%s: gap %v, want [g]: %s", tc.name, p.Gap, p.Raw)
			continue
		}
		if p.Missed["g"] != tc.missed {
			t.Errorf("%s: missed %v, want %d", tc.name, p.Missed, tc.missed)
		}
		checkMsgs(t, p.Msgs, "g", 8, 12, true)
		if _, pp := parseCursor(t, p.Cursor); pp["g"] != (trPosition{epoch, 12}) {
			t.Errorf("%s: cursor %q", tc.name, p.Cursor)
		}
	}
	// Exactly at the oldest kept message's predecessor: no gap.
	p := mustPoll(t, addr, "ch", "g~"+epoch+"~7", "wait", "0")
	if p.Gap != nil {
		t.Fatalf("position 7 with 8..12 kept reported a gap: %s", p.Raw)
	}
	checkMsgs(t, p.Msgs, "g", 8, 12, true)
}

// A parked poll whose backlog outgrows history before the loop answers it
// must report the gap, not skip the lost messages silently. The loop is
// held for the length of a burst (as a busy loop would be) so that the
// burst lands in one drain.
func TestPollGapWhileParked(t *testing.T) {
	srv := startServer(t, Config{Loops: 1, Tick: 10 * time.Millisecond, HistorySize: 5})
	addr := srv.Addr()
	for i := 1; i <= 3; i++ {
		mustPublish(t, srv, "gp", i)
	}
	a := mustPoll(t, addr, "ch", "gp", "wait", "0")
	if !strings.HasSuffix(a.Cursor, "~3") {
		t.Fatalf("cursor %q", a.Cursor)
	}

	parked := srv.Stats().PollsParked
	done := asyncPoll(addr, "cursor", a.Cursor)
	waitUntil(t, "the poll to park", func() bool { return srv.Stats().PollsParked == parked+1 })
	release := blockLoops(t, srv)
	for i := 4; i <= 13; i++ { // history keeps 9..13 only
		mustPublish(t, srv, "gp", i)
	}
	release()
	r := awaitPoll(t, done)
	if len(r.a.Msgs) > 0 && r.a.Msgs[0].Seq == 4 {
		return // all delivered: fine too
	}
	if len(r.a.Gap) != 1 || r.a.Gap[0] != "gp" {
		t.Fatalf("parked poll at seq 3 answered seqs %s with no gap: messages 4..%d were lost silently (%s)",
			seqList(r.a.Msgs), r.a.Msgs[0].Seq-1, r.a.Raw)
	}
}

// Every malformed poll gets its status: 400 with a JSON err body, 405 for
// another method.
func TestPollBadRequests(t *testing.T) {
	srv := startServer(t, Config{MaxSubscriptions: 3})
	addr := srv.Addr()
	for _, tc := range []struct{ name, query string }{
		{"invalid channel name", "ch=bad%20name"},
		{"empty channel name", "ch="},
		{"channel name over 128 bytes", "ch=" + strings.Repeat("x", 129)},
		{"no channels", "wait=0"},
		{"no query at all", ""},
		{"empty cursor", "cursor="},
		{"bad wait", "ch=a&wait=soon"},
		{"negative wait", "ch=a&wait=-1"},
		{"fractional wait", "ch=a&wait=1.5"},
		{"empty wait", "ch=a&wait="},
		{"too many channels", "ch=a&ch=b&ch=c&ch=d"},
		{"too many channels in a cursor", "cursor=a~e.1~0!b~e.1~0!c~e.1~0!d~e.1~0"},
		{"position without seq", "ch=a~e.1"},
		{"position with a bad seq", "ch=a~e.1~x"},
		{"position with a bad epoch", "ch=a~E!~1"},
		{"bad escape", "ch=a%zz"},
	} {
		status, hdr, body := trDo(t, "GET", "http://"+addr+"/poll?"+tc.query, "")
		if status != 400 || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d %s, want 400 JSON (%s)", tc.name, status, hdr.Get("Content-Type"), body)
			continue
		}
		errBody(t, body, 400)
	}
	// The same channel named several times counts once.
	a := mustPoll(t, addr, "ch", "a", "ch", "a", "ch", "a", "ch", "a", "wait", "0")
	if names, _ := parseCursor(t, a.Cursor); len(names) != 1 {
		t.Fatalf("duplicate channels: cursor %q", a.Cursor)
	}

	// Through curl too: 400 for a bad channel, 405 (with Allow) for POST.
	r := mustCurl(t, "http://"+addr+"/poll?ch=no%20spaces")
	if r.Status != 400 {
		t.Fatalf("curl bad channel: %d %s", r.Status, r.Body)
	}
	errBody(t, []byte(r.Body), 400)
	r = mustCurl(t, "-X", "POST", "-d", "x", "http://"+addr+"/poll?ch=a")
	if r.Status != 405 || !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Fatalf("POST /poll: %d Allow %q", r.Status, r.Header.Get("Allow"))
	}
	for _, path := range []string{"/sse", "/stream", "/iframe"} {
		if status, hdr, _ := trDo(t, "PUT", "http://"+addr+path+"?ch=a&cb=__comet1", "x"); status != 405 || hdr.Get("Allow") == "" {
			t.Errorf("PUT %s: %d Allow %q", path, status, hdr.Get("Allow"))
		}
	}
	// The error answers keep the connection: a bad poll, then a good one,
	// on one socket.
	c := dialRaw(t, addr)
	c.get("/poll?ch=bad%20name")
	c.get("/poll?ch=a&wait=0")
	if resp, body := c.fullResponse(); resp.StatusCode != 400 {
		t.Fatalf("pipelined bad poll: %d %s", resp.StatusCode, body)
	}
	resp, body := c.fullResponse()
	if _, err := decodePollAnswer([]byte(body)); resp.StatusCode != 200 || err != nil {
		t.Fatalf("poll after a 400 on the same connection: %d %v", resp.StatusCode, err)
	}
}

// A channel nobody is subscribed to and whose history is empty is dropped
// by the sweeper, and comes back with a new epoch. A polling client is
// subscribed only while a poll is in flight, so on a quiet channel the
// sweep runs between its polls: the client's cursor must still be served
// without a gap when everything published since is in history.
func TestPollCursorSurvivesIdleSweep(t *testing.T) {
	clock := newTestClock()
	srv := startServer(t, Config{Now: clock.Now})
	addr := srv.Addr()
	first := mustPoll(t, addr, "ch", "idle", "wait", "0")
	// A sweep between polls: the quiet channel has no stream, so the
	// client holds an empty epoch that a stream created soon after matches.
	clock.Advance(time.Second)
	engineOf(t, srv).Sweep()
	for i := 1; i <= 3; i++ {
		mustPublish(t, srv, "idle", i)
	}
	a := mustPoll(t, addr, "cursor", first.Cursor, "wait", "0")
	checkMsgs(t, a.Msgs, "idle", 1, 3, true)
	if a.Gap != nil {
		t.Fatalf("a poller of a quiet channel was told to reload (gap %v) though history holds everything "+
			"published since its last poll; cursor %q, answer %s", a.Gap, first.Cursor, a.Raw)
	}
}
