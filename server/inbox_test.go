package server

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/inbox/personal"
)

// inboxNode is a node with identity and an inbox in dir, as cmd/comet
// wires it: the embedded store, personal channels served from it, the
// memory engine for everything else and for live delivery.
type inboxNode struct {
	srv   *Server
	store *inbox.DB
	dir   string
}

func startInboxNode(t *testing.T, dir string, cfg Config, o inbox.Options) *inboxNode {
	t.Helper()
	store, err := inbox.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := memory.New(memory.Config{HistorySize: cfg.HistorySize, HistoryTTL: cfg.HistoryTTL, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	policy := cfg.Auth.Policy
	if policy == nil {
		policy = testPolicy(t, false)
		cfg.Auth.Policy = policy
	}
	// The personal engine is never Inline: the async path always runs.
	b, err := personal.New(personal.Config{Store: store, Relay: relay, User: policy.PersonalUser})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Broker, cfg.Inbox = b, store
	return &inboxNode{srv: authServer(t, cfg), store: store, dir: dir}
}

// stop drains the node, which closes the store.
func (n *inboxNode) stop(t *testing.T) {
	t.Helper()
	if err := n.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// notify publishes n messages to user's personal channel through the
// backend API, each acknowledged with its seq; it returns the last seq.
func notifyUser(t *testing.T, addr, user string, from, n int) uint64 {
	t.Helper()
	var last uint64
	for i := from; i < from+n; i++ {
		status, body := httpPublishPath(t, addr, "/api/publish", `{"user":"`+user+`","data":{"n":`+strconv.Itoa(i)+`}}`)
		var r struct{ Seq uint64 }
		if status != 200 || json.Unmarshal([]byte(body), &r) != nil || r.Seq == 0 {
			t.Fatalf("publish %d: %d %s", i, status, body)
		}
		last = r.Seq
	}
	return last
}

// expectNumbered reads WebSocket deliveries of ch and checks they are
// {"n":from}..{"n":to} at seqs from..to, in order, once each. A replay is
// paged: the node joins again after each page (a sub reply without id).
func expectNumbered(t *testing.T, c *wsClient, ch string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		m := c.read()
		for m["op"] == "sub" && m["id"] == nil && m["ch"] == ch {
			m = c.read()
		}
		d, _ := m["data"].(map[string]any)
		if m["op"] != "msg" || m["ch"] != ch || !jsonEqual(m["seq"], i) || !jsonEqual(d["n"], i) {
			t.Fatalf("delivery %d of %s: %v", i, ch, m)
		}
	}
}

func dialDevice(t *testing.T, addr, user, device, query string) *wsClient {
	t.Helper()
	c := dialAs(t, addr, token(t, user, time.Hour, map[string]any{"client": device}), query)
	c.expect(map[string]any{"op": "connected", "user": user, "client": device})
	return c
}

// A device offline while 1,000 messages arrive gets all of them, in order,
// when it comes back, on each transport; after a restart of the node on
// the same data directory, a device that had not acknowledged them gets
// them all again; acknowledged, nothing.
func TestInboxOfflineDeviceGetsEverything(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	node := startInboxNode(t, dir, Config{Tick: 10 * time.Millisecond}, inbox.Options{})
	addr := node.srv.Addr()

	// Each device is seen once (it starts from now), then goes away.
	phone := dialDevice(t, addr, "alice", "phone", "")
	phone.expect(map[string]any{"op": "sub", "ch": "user:alice", "recovered": true})
	phone.c.Close()
	tok := func(device string) string { return token(t, "alice", time.Hour, map[string]any{"client": device}) }
	mustPoll(t, addr, "wait", "0", "token", tok("tablet"))
	resp, lr := openStreamHTTP(t, trURL(addr, "/sse", "token", tok("laptop")))
	if _, _, err := lr.sseOpen(); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the devices to be known", func() bool {
		devs, err := node.store.Devices(context.Background(), "alice")
		return err == nil && len(devs) == 3
	})

	notifyUser(t, addr, "alice", 1, n)

	// The phone: a WebSocket with no position: it starts after its ack.
	phone = dialDevice(t, addr, "alice", "phone", "")
	phone.expect(map[string]any{"op": "sub", "ch": "user:alice", "recovered": true})
	expectNumbered(t, phone, "user:alice", 1, n)
	// The tablet: a long-poll with no cursor.
	a := mustPoll(t, addr, "wait", "0", "token", tok("tablet"))
	if len(a.Msgs) != n || a.Msgs[0].Seq != 1 || a.Msgs[n-1].Seq != n {
		t.Fatalf("tablet got %d messages", len(a.Msgs))
	}
	// The laptop: SSE with no Last-Event-ID.
	resp, lr = openStreamHTTP(t, trURL(addr, "/sse", "token", tok("laptop")))
	defer resp.Body.Close()
	if _, _, err := lr.sseOpen(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, m, err := lr.sseMsg(); err != nil || m.Seq != uint64(i) || m.Ch != "user:alice" {
			t.Fatalf("laptop delivery %d: %+v %v", i, m, err)
		}
	}
	resp.Body.Close()

	// The phone acknowledges half; the tablet's cursor acknowledged all.
	phone.send(`{"op":"ack","ch":"user:alice","seq":500,"id":"a"}`)
	phone.expect(map[string]any{"op": "ok", "id": "a", "seq": 500, "pending": n - 500})
	mustPoll(t, addr, "cursor", a.Cursor, "wait", "0", "token", tok("tablet"))
	phone.c.Close()

	// Restart on the same directory.
	node.stop(t)
	node = startInboxNode(t, dir, Config{Tick: 10 * time.Millisecond}, inbox.Options{})
	addr = node.srv.Addr()
	phone = dialDevice(t, addr, "alice", "phone", "")
	phone.expect(map[string]any{"op": "sub", "ch": "user:alice", "recovered": true})
	expectNumbered(t, phone, "user:alice", 501, n)
	if b := mustPoll(t, addr, "wait", "0", "token", tok("tablet")); len(b.Msgs) != 0 {
		t.Fatalf("the tablet acknowledged everything, got %d again", len(b.Msgs))
	}
	resp, lr = openStreamHTTP(t, trURL(addr, "/sse", "token", tok("laptop")))
	defer resp.Body.Close()
	if _, _, err := lr.sseOpen(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ { // the laptop never acknowledged
		if _, m, err := lr.sseMsg(); err != nil || m.Seq != uint64(i) {
			t.Fatalf("laptop after the restart, delivery %d: %+v %v", i, m, err)
		}
	}
	// And live messages follow on every device, with no gap at the seam.
	notifyUser(t, addr, "alice", n+1, 1)
	phone.expect(map[string]any{"op": "msg", "ch": "user:alice", "seq": n + 1})
	if _, m, err := lr.sseMsg(); err != nil || m.Seq != n+1 {
		t.Fatalf("laptop live: %+v %v", m, err)
	}
}

// Two devices of one user acknowledge at different positions; each gets
// exactly its remainder. Coalesced acks (no id) land too.
func TestInboxTwoDevicesTwoPositions(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{}, inbox.Options{})
	addr := node.srv.Addr()
	for _, d := range []string{"phone", "laptop"} {
		c := dialDevice(t, addr, "bob", d, "")
		c.expect(map[string]any{"op": "sub", "ch": "user:bob"})
		c.c.Close()
	}
	waitUntil(t, "both devices", func() bool {
		devs, _ := node.store.Devices(context.Background(), "bob")
		return len(devs) == 2
	})
	notifyUser(t, addr, "bob", 1, 40)
	phone := dialDevice(t, addr, "bob", "phone", "")
	phone.read()
	expectNumbered(t, phone, "user:bob", 1, 40)
	for seq := 1; seq <= 30; seq++ { // acks as the app handles each message
		phone.send(`{"op":"ack","ch":"user:bob","seq":` + strconv.Itoa(seq) + `}`)
	}
	waitUntil(t, "the phone's acks", func() bool {
		d, err := node.store.Device(context.Background(), "bob", "phone")
		return err == nil && d.Acked == 30
	})
	laptop := dialDevice(t, addr, "bob", "laptop", "")
	laptop.read()
	expectNumbered(t, laptop, "user:bob", 1, 40)
	laptop.send(`{"op":"ack","ch":"user:bob","seq":12,"id":"l"}`)
	laptop.expect(map[string]any{"op": "ok", "id": "l", "seq": 12})
	phone.c.Close()
	laptop.c.Close()

	phone = dialDevice(t, addr, "bob", "phone", "")
	phone.read()
	expectNumbered(t, phone, "user:bob", 31, 40)
	laptop = dialDevice(t, addr, "bob", "laptop", "")
	laptop.read()
	expectNumbered(t, laptop, "user:bob", 13, 40)
	// Nothing more: a ping comes back before any other message.
	for _, c := range []*wsClient{phone, laptop} {
		c.send(`{"op":"ping","id":"end"}`)
		c.expect(map[string]any{"op": "pong", "id": "end"})
	}
}

// Retention overflow: a device behind what the log still keeps is told
// exactly how many messages it missed, then gets what is kept.
func TestInboxRetentionGapIsExact(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{}, inbox.Options{Retention: inbox.Retention{MaxEntries: 100}})
	addr := node.srv.Addr()
	c := dialDevice(t, addr, "carol", "phone", "")
	c.read()
	c.c.Close()
	waitUntil(t, "the device", func() bool {
		_, err := node.store.Device(context.Background(), "carol", "phone")
		return err == nil
	})
	notifyUser(t, addr, "carol", 1, 250)
	c = dialDevice(t, addr, "carol", "phone", "")
	c.expect(map[string]any{"op": "sub", "ch": "user:carol", "recovered": false, "missed": 150})
	expectNumbered(t, c, "user:carol", 151, 250)
	// A long-poll with a position the log no longer holds: the same count.
	tok := token(t, "carol", time.Hour, map[string]any{"client": "tablet"})
	pos := mustPoll(t, addr, "wait", "0", "token", tok) // registers the tablet at the top
	_, p := parseCursor(t, pos.Cursor)
	old := "user:carol~" + p["user:carol"].Epoch + "~120"
	a := mustPoll(t, addr, "cursor", old, "wait", "0", "token", tok)
	if a.Missed["user:carol"] != 30 || len(a.Msgs) != 100 || a.Msgs[0].Seq != 151 {
		t.Fatalf("poll behind retention: missed %v, %d msgs", a.Missed, len(a.Msgs))
	}
}

// A DM is stored in both logs before its ok; both sides' devices get it
// with the conversation; the sender's own connection does not get it back;
// a retry with the same idem stores nothing; reading sends the other
// devices a read event and the sender a "seen" receipt; unread counts
// follow.
func TestInboxDirectMessagesReadAndSeen(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{}, inbox.Options{})
	addr := node.srv.Addr()
	alice := dialDevice(t, addr, "alice", "phone", "")
	alice.read()
	aliceLaptop := dialDevice(t, addr, "alice", "laptop", "")
	aliceLaptop.read()
	bob := dialDevice(t, addr, "bob", "phone", "")
	bob.read()
	bobTablet := dialDevice(t, addr, "bob", "tablet", "")
	bobTablet.read()

	const conv = "dm:5:alice:bob"
	alice.send(`{"op":"dm","to":"bob","data":{"text":"hi"},"id":"d1","idem":"m-1"}`)
	ok := alice.expect(map[string]any{"op": "ok", "id": "d1", "seq": 1})
	for _, c := range []*wsClient{bob, bobTablet} {
		c.expect(map[string]any{"op": "msg", "ch": "user:bob", "seq": 1, "from": "alice", "conv": conv})
	}
	aliceLaptop.expect(map[string]any{"op": "msg", "ch": "user:alice", "seq": 1, "from": "alice", "conv": conv})
	// The retry (the ok was lost): same answer, nothing new anywhere.
	alice.send(`{"op":"dm","to":"bob","data":{"text":"hi"},"id":"d2","idem":"m-1"}`)
	alice.expect(map[string]any{"op": "ok", "id": "d2", "seq": ok["seq"]})
	for _, u := range []string{"alice", "bob"} {
		if st, _ := node.store.State(context.Background(), u); st.Top != 1 {
			t.Fatalf("%s's log holds %d entries after a retry", u, st.Top)
		}
	}
	bob.send(`{"op":"unread","id":"u"}`)
	u := bob.expect(map[string]any{"op": "unread", "id": "u", "total": 1})
	if convs, _ := u["convs"].([]any); len(convs) != 1 || !jsonEqual(convs[0].(map[string]any)["unread"], 1) {
		t.Fatalf("unread answer %v", u)
	}
	// Bob reads it on his phone.
	bob.send(`{"op":"read","conv":"` + conv + `","seq":1,"id":"r"}`)
	bob.expect(map[string]any{"op": "ok", "id": "r", "read": 1, "unread": 0})
	read := bobTablet.read() // the relay of a duplicate may come first: skip repeats
	for read["seq"] != 0.0 {
		read = bobTablet.read()
	}
	if d, _ := read["data"].(map[string]any); read["conv"] != conv || d["read"] == nil {
		t.Fatalf("bob's other device: %v", read)
	}
	for _, c := range []*wsClient{alice, aliceLaptop} {
		m := c.read()
		for m["seq"] != 0.0 {
			m = c.read()
		}
		d, _ := m["data"].(map[string]any)
		seen, _ := d["seen"].(map[string]any)
		if m["ch"] != "user:alice" || m["conv"] != conv || seen["by"] != "bob" || seen["ts"] == nil {
			t.Fatalf("alice's seen receipt: %v", m)
		}
	}
	bob.send(`{"op":"unread","id":"u2"}`)
	bob.expect(map[string]any{"op": "unread", "id": "u2", "total": 0})

	// Over POST /send too.
	status, _, body := trDo(t, "POST", "http://"+addr+"/send?token="+token(t, "bob", time.Hour, map[string]any{"client": "web"}),
		`{"op":"dm","to":"alice","data":"back","id":"s"}`)
	if status != 200 || !strings.Contains(string(body), `"op":"ok"`) || !strings.Contains(string(body), `"seq":2`) {
		t.Fatalf("dm over /send: %d %s", status, body)
	}
	alice.expect(map[string]any{"op": "msg", "ch": "user:alice", "seq": 2, "from": "bob", "conv": conv, "data": "back"})
}

// What a hostile or confused client can do with the inbox ops gets a clear
// answer and touches nobody else's data.
func TestInboxOpsRefused(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{}, inbox.Options{})
	addr := node.srv.Addr()
	notifyUser(t, addr, "victim", 1, 3)
	mallory := dialDevice(t, addr, "mallory", "x", "")
	mallory.read()
	noDevice := dialAs(t, addr, token(t, "nod", time.Hour, nil), "")
	noDevice.expect(map[string]any{"op": "connected"})
	noDevice.read()
	for _, tc := range []struct {
		c    *wsClient
		msg  string
		code int
	}{
		{mallory, `{"op":"ack","ch":"user:victim","seq":3,"id":"1"}`, 403},
		{mallory, `{"op":"ack","ch":"user:mallory","id":"2"}`, 400},
		{noDevice, `{"op":"ack","ch":"user:nod","seq":1,"id":"3"}`, 400},
		{mallory, `{"op":"read","conv":"dm:6:victim:zed","seq":1,"id":"4"}`, 404},
		{mallory, `{"op":"read","conv":"bad conv","seq":1,"id":"5"}`, 400},
		{mallory, `{"op":"dm","to":"` + strings.Repeat("u", 61) + `","data":1,"id":"6"}`, 400},
		{mallory, `{"op":"dm","to":"bad id","data":1,"id":"7"}`, 400},
	} {
		tc.c.send(tc.msg)
		var req struct{ ID string }
		_ = json.Unmarshal([]byte(tc.msg), &req)
		tc.c.expect(map[string]any{"op": "err", "code": tc.code, "id": req.ID})
	}
	// Over POST /send an error names its request too.
	_, _, body := trDo(t, "POST", "http://"+addr+"/send?device=x", `{"op":"dm","to":"`+strings.Repeat("u", 61)+`","data":1,"id":"want-this-id"}`,
		"Authorization", "Bearer "+token(t, "mallory", time.Hour, nil))
	if !bytes.Contains(body, []byte(`"id":"want-this-id"`)) || !bytes.Contains(body, []byte(`"code":400`)) {
		t.Fatalf("POST /send dm to a bad id: %s, want a 400 error with the request's id", body)
	}
	// An ack beyond the top is clamped, not refused.
	mallory.send(`{"op":"ack","ch":"user:mallory","seq":99999999,"id":"8"}`)
	mallory.expect(map[string]any{"op": "ok", "id": "8", "seq": 0})
	if d, err := node.store.Device(context.Background(), "victim", "x"); err == nil {
		t.Fatalf("mallory touched the victim's devices: %+v", d)
	}
	// Anonymous clients have no inbox; a node without one says so.
	plain := startServer(t, Config{Auth: AuthConfig{Policy: testPolicy(t, true)}})
	anon := dialWS(t, plain.Addr())
	anon.expect(map[string]any{"op": "connected"})
	anon.send(`{"op":"unread","id":"u"}`)
	anon.expect(map[string]any{"op": "err", "id": "u", "code": 501})
	// The API needs its key and a user; the node still serves others.
	keyed := startInboxNode(t, t.TempDir(), Config{APIKey: "k"}, inbox.Options{})
	if status, _, _ := trDo(t, "GET", "http://"+keyed.srv.Addr()+"/api/inbox?user=victim", ""); status != 401 {
		t.Fatalf("inbox API without a key: %d", status)
	}
	if status, _, _ := trDo(t, "GET", "http://"+keyed.srv.Addr()+"/api/inbox?user=bad%20id", "", "X-API-Key", "k"); status != 400 {
		t.Fatalf("inbox API with a bad user: %d", status)
	}
	mallory.send(`{"op":"ping","id":"alive"}`)
	mallory.expect(map[string]any{"op": "pong", "id": "alive"})
}

// The backend's inbox API: state, unread counts and devices; the log,
// paged; deleting a user's inbox (a new epoch: its devices start over).
func TestInboxAPI(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{}, inbox.Options{})
	addr := node.srv.Addr()
	c := dialDevice(t, addr, "dora", "phone", "")
	c.read()
	notifyUser(t, addr, "dora", 1, 25)
	expectNumbered(t, c, "user:dora", 1, 25)
	c.send(`{"op":"ack","ch":"user:dora","seq":20,"id":"a"}`)
	c.read()
	var st struct {
		User, Epoch         string
		Top, Total, Dropped uint64
		Devices             []struct {
			Device         string
			Acked, Pending uint64
		}
		Convs []struct {
			Conv   string
			Unread uint64
		}
	}
	status, _, body := trDo(t, "GET", "http://"+addr+"/api/inbox?user=dora", "")
	if status != 200 || json.Unmarshal(body, &st) != nil || st.Top != 25 || st.Total != 25 ||
		len(st.Devices) != 1 || st.Devices[0].Acked != 20 || st.Devices[0].Pending != 5 ||
		len(st.Convs) != 1 || st.Convs[0].Conv != personal.DefaultConversation {
		t.Fatalf("GET /api/inbox: %d %s", status, body)
	}
	var page struct {
		Next    uint64
		More    bool
		Entries []struct {
			Seq  uint64
			Data json.RawMessage
		}
	}
	status, _, body = trDo(t, "GET", "http://"+addr+"/api/inbox/entries?user=dora&after=5&limit=10", "")
	if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Entries) != 10 || page.Entries[0].Seq != 6 ||
		page.Next != 15 || !page.More || string(page.Entries[0].Data) != `{"n":6}` {
		t.Fatalf("GET /api/inbox/entries: %d %s", status, body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "after=-1", "after=x"} {
		if status, _, _ := trDo(t, "GET", "http://"+addr+"/api/inbox/entries?user=dora&"+q, ""); status != 400 {
			t.Fatalf("entries with %s: %d", q, status)
		}
	}
	status, _, body = trDo(t, "DELETE", "http://"+addr+"/api/inbox?user=dora", "")
	if status != 200 || !strings.Contains(string(body), `"deleted":true`) {
		t.Fatalf("DELETE /api/inbox: %d %s", status, body)
	}
	if s, _ := node.store.State(context.Background(), "dora"); s.Top != 0 {
		t.Fatalf("after delete: %+v", s)
	}
	if status, _, _ := trDo(t, "PUT", "http://"+addr+"/api/inbox?user=dora", ""); status != 405 {
		t.Fatalf("PUT /api/inbox: %d", status)
	}
}

// A long-poll whose hold ends just as a message is published loses
// nothing and duplicates nothing: the poller's cursor is its position, and
// what is published while no poll is parked comes in the next answer.
// The holds are short and the publishes land at every offset into them.
func TestInboxPollHoldRaceLosesNothing(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{Tick: 2 * time.Millisecond, PollHold: 20 * time.Millisecond}, inbox.Options{})
	addr := node.srv.Addr()
	tok := token(t, "erin", time.Hour, map[string]any{"client": "tab"})
	cursor := mustPoll(t, addr, "ch", "room:race", "wait", "0", "token", tok).Cursor
	const n = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the publisher: personal and room messages, at shifting offsets
		defer wg.Done()
		for i := 1; i <= n; i++ {
			if i%2 == 0 {
				_, _ = node.srv.Publish("room:race", []byte(strconv.Itoa(i)))
			} else {
				_, _ = node.srv.conf().Broker.Publish(context.Background(), "user:erin", []byte(strconv.Itoa(i)), broker.PublishOptions{})
			}
			time.Sleep(time.Duration(i%23) * time.Millisecond) // spreads publishes over the holds; not a synchronisation
		}
	}()
	seen := map[string][]uint64{}
	deadline := time.Now().Add(60 * time.Second)
	for len(seen["room:race"])+len(seen["user:erin"]) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d: %v", len(seen["room:race"])+len(seen["user:erin"]), n, seen)
		}
		a := mustPoll(t, addr, "cursor", cursor, "wait", "1", "token", tok)
		for _, m := range a.Msgs {
			seen[m.Ch] = append(seen[m.Ch], m.Seq)
		}
		cursor = a.Cursor
	}
	wg.Wait()
	for ch, seqs := range seen {
		for i, s := range seqs {
			if s != uint64(i+1) {
				t.Fatalf("%s: seqs %v: lost or duplicated at %d", ch, seqs, i)
			}
		}
	}
}

// Inbox ops are store reads and writes: a client that floods them is held
// to its publish rate (429), and the node still serves another user's
// inbox at once.
func TestInboxOpsAreRateLimited(t *testing.T) {
	node := startInboxNode(t, t.TempDir(), Config{PublishRate: 1, PublishBurst: 5}, inbox.Options{})
	addr := node.srv.Addr()
	flood := dialDevice(t, addr, "mallory", "x", "")
	flood.read()
	limited := 0
	for i := range 50 {
		flood.send(`{"op":"unread","id":"u` + strconv.Itoa(i) + `"}`)
	}
	for range 50 {
		m := flood.read()
		if m["op"] == "err" && m["code"] == float64(429) {
			limited++
		}
	}
	if limited < 40 {
		t.Fatalf("%d of 50 unread ops refused at a burst of 5, want at least 40", limited)
	}
	other := dialDevice(t, addr, "alice", "y", "")
	other.read()
	other.send(`{"op":"unread","id":"a"}`)
	other.expect(map[string]any{"op": "unread", "id": "a"})
}
