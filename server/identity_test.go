package server

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/broker/memory"
	"github.com/comet-im/comet/notify"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// Identity end to end: tokens on every transport, permissions with no
// leak by any path, personal channels on every device, presence.

var testSecret = []byte("0123456789abcdef0123456789abcdef") // HS256: 32 bytes

// testRSA is an RSA key whose public half the node trusts too (RS256).
var testRSA = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func testRSAPublicPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&testRSA.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// testPolicy: rooms for signed-in users (presence, join/leave), public
// channels for anyone, vip: by grant, personal channels for their owner.
func testPolicy(t testing.TB, anonymous bool) *auth.Policy {
	t.Helper()
	p, err := auth.NewPolicy(auth.PolicyConfig{
		Namespaces: []auth.Namespace{
			{Prefix: "room:", Subscribe: auth.RuleAuthenticated, Publish: auth.RuleAuthenticated, Presence: true, JoinLeave: true},
			{Prefix: "chat:", Subscribe: auth.RuleAuthenticated, Publish: auth.RuleAuthenticated},
			{Prefix: "public:", Subscribe: auth.RuleAnyone, Publish: auth.RuleNobody, Anonymous: true},
			{Prefix: "vip:", Subscribe: auth.RuleGrant, Publish: auth.RuleGrant},
		},
		Anonymous: anonymous,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// authServer starts a node with identity: HS256 and RS256 tokens, the
// test policy, presence in memory.
func authServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	v, err := auth.NewVerifier(auth.VerifierConfig{
		Keys: []auth.Key{{Secret: testSecret}, {PEM: testRSAPublicPEM()}},
		Now:  cfg.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.Policy == nil {
		cfg.Auth.Policy = testPolicy(t, false)
	}
	cfg.Auth.Verifier = v
	if cfg.Presence == nil {
		cfg.Presence = memory.NewPresence(cfg.Now)
	}
	return startServer(t, cfg)
}

// token signs a connection token for user, valid for ttl (negative: long
// expired), with extra claims.
func token(t testing.TB, user string, ttl time.Duration, extra map[string]any) string {
	t.Helper()
	c := jwt.MapClaims{"sub": user, "exp": time.Now().Add(ttl).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dialAs opens /ws with a token in the query (browsers cannot set
// headers on a WebSocket).
func dialAs(t testing.TB, addr, tok, query string) *wsClient {
	t.Helper()
	u := "ws://" + addr + "/ws?token=" + tok
	if query != "" {
		u += "&" + query
	}
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

// closeCode reads until the server closes and returns its close code.
func (w *wsClient) closeCode() int {
	w.t.Helper()
	for {
		_ = w.c.SetReadDeadline(time.Now().Add(readTimeout))
		_, _, err := w.c.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		if err != nil {
			w.t.Fatalf("read: %v (want a close frame)", err)
		}
	}
}

// The token matrix, on a WebSocket, a long-poll and SSE: what each
// transport answers for a missing, malformed, forged, expired token, or a
// token signed in a way the node must refuse.
func TestTokenMatrix(t *testing.T) {
	srv := authServer(t, Config{})
	addr := srv.Addr()
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(testRSAPublicPEM()) // HS256 "signed" with the RSA public key as secret
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("another-secret-another-secret-xx"))
	rs256, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(testRSA)
	for _, tc := range []struct {
		name   string
		tok    string
		ws     int // close code; 0: connected
		status int // poll status
	}{
		{"valid HS256", token(t, "alice", time.Hour, nil), 0, 200},
		{"valid RS256", rs256, 0, 200},
		{"expired", token(t, "alice", -time.Hour, nil), 4401, 401},
		{"missing", "", 4500, 401},
		{"malformed", "not.a.token", 4501, 401},
		{"wrong key", wrongKey, 4501, 401},
		{"alg none", none, 4501, 401},
		{"HS256 with the RSA public key as secret", confused, 4501, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAs(t, addr, tc.tok, "")
			if tc.ws == 0 {
				m := c.expect(map[string]any{"op": "connected", "user": "alice", "personal": "user:alice"})
				if m["conn"] == "" {
					t.Fatalf("connected without a conn id: %v", m)
				}
				c.expect(map[string]any{"op": "sub", "ch": "user:alice"})
			} else if code := c.closeCode(); code != tc.ws {
				t.Fatalf("close %d, want %d", code, tc.ws)
			}
			status, _, body := trDo(t, "GET", trURL(addr, "/poll", "ch", "room:a", "wait", "0", "token", tc.tok), "")
			if status != tc.status {
				t.Fatalf("poll: %d %s, want %d", status, body, tc.status)
			}
			if status != 200 {
				errBody(t, body, status)
			}
			// SSE cannot read a status: the stream opens and carries one
			// close event that says whether to refresh.
			resp, lr := openStreamHTTP(t, trURL(addr, "/sse", "ch", "room:a", "token", tc.tok))
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("sse: status %d", resp.StatusCode)
			}
			ev, err := lr.event()
			if tc.ws == 0 {
				if err != nil || ev.Retry != "2000" {
					t.Fatalf("sse open: %+v %v", ev, err)
				}
				return
			}
			if err != nil || !strings.Contains(ev.Data, `"op":"close"`) || !strings.Contains(ev.Data, fmt.Sprintf(`"code":%d`, tc.ws)) {
				t.Fatalf("sse refusal: %+v %v, want a close event with %d", ev, err, tc.ws)
			}
		})
	}
}

// A WebSocket refreshes its token in place: the connection and its
// subscriptions stay; a token of another user is refused.
func TestTokenRefreshInPlace(t *testing.T) {
	srv := authServer(t, Config{})
	c := dialAs(t, srv.Addr(), token(t, "alice", time.Minute, nil), "")
	c.expect(map[string]any{"op": "connected", "user": "alice"})
	c.expect(map[string]any{"op": "sub", "ch": "user:alice"})
	c.subscribe("room:r")
	fresh := token(t, "alice", time.Hour, nil)
	c.send(`{"op":"refresh","token":"` + fresh + `","id":"r"}`)
	m := c.expect(map[string]any{"op": "ok", "id": "r"})
	if exp, _ := m["exp"].(float64); int64(exp) < time.Now().Add(50*time.Minute).Unix() {
		t.Fatalf("refresh answered exp %v, want the new token's", m["exp"])
	}
	c.send(`{"op":"refresh","token":"` + token(t, "mallory", time.Hour, nil) + `","id":"x"}`)
	c.expect(map[string]any{"op": "err", "id": "x", "code": 401})
	// Still subscribed, still alice.
	mustPublish(t, srv, "room:r", 7)
	c.expect(map[string]any{"op": "msg", "ch": "room:r", "data": 7})
}

// A connection whose token expires is closed with 4401 at its next
// heartbeat: the client refreshes and reconnects.
func TestExpiredConnectionIsClosed(t *testing.T) {
	clock := newTestClock()
	srv := authServer(t, Config{Now: clock.Now, Tick: 10 * time.Millisecond, PingInterval: time.Second, PongTimeout: time.Second})
	c := dialAs(t, srv.Addr(), token(t, "alice", time.Minute, nil), "")
	c.expect(map[string]any{"op": "connected"})
	clock.Advance(2 * time.Minute)
	if code := c.closeCode(); code != 4401 {
		t.Fatalf("close %d, want 4401", code)
	}
}

// The connect hook, against a real backend: it says who the cookie is;
// slow or down, the client is told to come back later (4450 / 503).
func TestConnectHook(t *testing.T) {
	var slow atomic.Bool
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			<-release
		}
		var body struct {
			Cookies map[string]string `json:"cookies"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Cookies["session"] != "good" {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, `{"user":"carol","expire_at":`+fmt.Sprint(time.Now().Add(time.Hour).Unix())+`}`)
	}))
	defer backend.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	hook, err := auth.NewHook(auth.HookConfig{URL: backend.URL, Cookies: []string{"session"}, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := authServer(t, Config{Auth: AuthConfig{Hook: hook}})
	addr := srv.Addr()
	dial := func(cookie string) *wsClient {
		h := http.Header{"Cookie": {cookie}}
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &wsClient{t: t, c: c}
	}
	ok := dial("session=good")
	ok.expect(map[string]any{"op": "connected", "user": "carol"})
	ok.expect(map[string]any{"op": "sub", "ch": "user:carol"})
	if code := dial("session=bad").closeCode(); code != 4503 {
		t.Fatalf("denied by the backend: close %d, want 4503", code)
	}
	status, _, _ := trDo(t, "GET", trURL(addr, "/poll", "ch", "room:a", "wait", "0"), "", "Cookie", "session=good")
	if status != 200 {
		t.Fatalf("poll with a good session: %d", status)
	}
	slow.Store(true)
	if code := dial("session=good").closeCode(); code != 4450 {
		t.Fatalf("slow backend: close %d, want 4450", code)
	}
	unblock()
	backend.Close()
	if status, _, body := trDo(t, "GET", trURL(addr, "/poll", "ch", "room:a", "wait", "0"), "", "Cookie", "session=good"); status != 503 {
		t.Fatalf("backend down: poll %d %s, want 503", status, body)
	}
}

// No user reads another user's channel, or a channel it has no grant for,
// by any transport or any replay path; none publishes where it may not.
// The answers do not depend on whether the channel exists.
func TestNoLeakAcrossTransports(t *testing.T) {
	srv := authServer(t, Config{})
	addr := srv.Addr()
	mustPublish(t, srv, "user:bob", 1) // bob's channel exists and holds a message
	alice := token(t, "alice", time.Hour, nil)
	pos := "user:bob~~0"
	for _, tc := range []struct{ name, path string }{
		{"poll", "/poll?ch=user:bob&wait=0"},
		{"poll with a position", "/poll?ch=" + pos + "&wait=0"},
		{"poll cursor", "/poll?cursor=" + pos + "&wait=0"},
		{"poll of a vip channel", "/poll?ch=vip:lounge&wait=0"},
		{"poll of a channel that does not exist", "/poll?ch=user:nobody&wait=0"},
	} {
		status, _, body := trDo(t, "GET", "http://"+addr+tc.path+"&token="+alice, "")
		if status != 403 || strings.Contains(string(body), `"msgs"`) {
			t.Errorf("%s: %d %s, want 403 and nothing", tc.name, status, body)
		}
	}
	for _, path := range []string{"/sse?ch=user:bob", "/stream?ch=user:bob", "/iframe?ch=user:bob&cb=__comet1"} {
		resp, lr := openStreamHTTP(t, "http://"+addr+path+"&token="+alice)
		var all strings.Builder
		for {
			l, err := lr.line()
			if err != nil {
				break
			}
			all.WriteString(l)
		}
		resp.Body.Close()
		if !strings.Contains(all.String(), `"op":"close"`) || strings.Contains(all.String(), `"op":"msg"`) {
			t.Errorf("%s: %q, want one close event and no message", path, all.String())
		}
	}
	// SSE's Last-Event-ID is a cursor too.
	resp, lr := openStreamHTTP(t, "http://"+addr+"/sse?token="+alice, "Last-Event-ID", pos)
	ev, _ := lr.event()
	resp.Body.Close()
	if !strings.Contains(ev.Data, `"op":"close"`) {
		t.Errorf("sse Last-Event-ID of bob's channel: %+v", ev)
	}
	c := dialAs(t, addr, alice, "")
	c.expect(map[string]any{"op": "connected"})
	c.expect(map[string]any{"op": "sub", "ch": "user:alice"})
	for _, m := range []string{
		`{"op":"sub","ch":"user:bob","id":"1"}`,
		`{"op":"sub","ch":"user:bob","since":0,"id":"2"}`,
		`{"op":"sub","ch":"vip:lounge","id":"3"}`,
		`{"op":"pub","ch":"user:bob","data":1,"id":"4"}`,
		`{"op":"pub","ch":"public:news","data":1,"id":"5"}`,
		`{"op":"presence","ch":"user:bob","id":"6"}`,
	} {
		c.send(m)
		if r := c.read(); r["op"] != "err" || r["code"] != float64(403) {
			t.Errorf("%s: %v, want err 403", m, r)
		}
	}
	// Joining at connect is checked the same way: the connection is
	// refused as a whole.
	if code := dialAs(t, addr, alice, "ch=user:bob").closeCode(); code != 4503 {
		t.Errorf("connect naming bob's channel: close %d, want 4503", code)
	}
	// A grant in the token, or a subscription token, opens a vip channel.
	granted := dialAs(t, addr, token(t, "alice", time.Hour, map[string]any{"grants": map[string]any{"subscribe": []string{"vip:*"}}}), "")
	granted.expect(map[string]any{"op": "connected"})
	granted.expect(map[string]any{"op": "sub", "ch": "user:alice"})
	granted.subscribe("vip:lounge")
	sub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "channel": "vip:backstage",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString(testSecret)
	c.send(`{"op":"sub","ch":"vip:backstage","token":"` + sub + `","id":"st"}`)
	c.expect(map[string]any{"op": "sub", "id": "st", "ch": "vip:backstage"})
	if status, _, body := trDo(t, "GET", trURL(addr, "/poll", "ch", "vip:backstage", "wait", "0", "token", alice, "subtoken", sub), ""); status != 200 {
		t.Errorf("poll with a subscription token: %d %s", status, body)
	}
}

// One user on three devices and three transports: a WebSocket (phone), SSE
// (laptop), a long-poll (tablet). Each gets the user's personal channel
// without asking; a DM reaches all of them; what the user says in a room
// from the phone reaches the other two devices, and not the phone again.
// (chat: has no join and leave events, which would interleave here.)
func TestOneUserThreeDevicesThreeTransports(t *testing.T) {
	srv := authServer(t, Config{Tick: 10 * time.Millisecond})
	addr := srv.Addr()
	tok := func(device string) string { return token(t, "alice", time.Hour, map[string]any{"client": device}) }
	phone := dialAs(t, addr, tok("phone"), "ch=chat:r")
	phone.expect(map[string]any{"op": "connected", "client": "phone"})
	phone.read() // the two sub replies, in either order
	phone.read()
	resp, lr := openStreamHTTP(t, trURL(addr, "/sse", "ch", "chat:r", "token", tok("laptop"), "sid", "laptop1"))
	defer resp.Body.Close()
	cursor, _, err := lr.sseOpen()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cursor, "user:alice~") {
		t.Fatalf("the SSE stream's cursor %q lacks the personal channel", cursor)
	}
	pollCursor := mustPoll(t, addr, "ch", "chat:r", "wait", "0", "token", tok("tablet"), "sid", "tablet1").Cursor
	bob := dialAs(t, addr, token(t, "bob", time.Hour, nil), "")
	bob.expect(map[string]any{"op": "connected"})
	bob.expect(map[string]any{"op": "sub", "ch": "user:bob"})

	// A DM from bob to alice, through the backend API.
	if status, body := httpPublishPath(t, addr, "/api/dm", `{"from":"bob","to":"alice","data":"hi alice"}`); status != 200 {
		t.Fatalf("dm: %d %s", status, body)
	}
	phone.expect(map[string]any{"op": "msg", "ch": "user:alice", "from": "bob", "data": "hi alice"})
	bob.expect(map[string]any{"op": "msg", "ch": "user:bob", "from": "bob", "data": "hi alice"})
	if _, m, err := lr.sseMsg(); err != nil || m.Ch != "user:alice" || string(m.Data) != `"hi alice"` {
		t.Fatalf("laptop: %+v %v", m, err)
	}
	a := mustPoll(t, addr, "cursor", pollCursor, "wait", "5", "token", tok("tablet"), "sid", "tablet1")
	if len(a.Msgs) != 1 || a.Msgs[0].Ch != "user:alice" {
		t.Fatalf("tablet: %s", a.Raw)
	}
	// The phone says something in the room: the laptop and the tablet get
	// it, the phone does not (no echo), bob... is not in the room.
	phone.send(`{"op":"pub","ch":"chat:r","data":"from my phone","id":"p"}`)
	phone.expect(map[string]any{"op": "ok", "id": "p"})
	if _, m, err := lr.sseMsg(); err != nil || m.Ch != "chat:r" || string(m.Data) != `"from my phone"` {
		t.Fatalf("laptop: %+v %v", m, err)
	}
	b := mustPoll(t, addr, "cursor", a.Cursor, "wait", "5", "token", tok("tablet"), "sid", "tablet1")
	if len(b.Msgs) != 1 || b.Msgs[0].Ch != "chat:r" {
		t.Fatalf("tablet: %s", b.Raw)
	}
	phone.send(`{"op":"ping","id":"after"}`)
	if m := phone.read(); m["op"] != "pong" {
		t.Fatalf("the phone got its own message back: %v", m)
	}
	// Asked for with echo, it does come back.
	phone.send(`{"op":"pub","ch":"chat:r","data":"echo me","echo":true}`)
	phone.expect(map[string]any{"op": "msg", "ch": "chat:r", "data": "echo me", "from": "alice"})
}

// httpPublishPath posts body to an API path with no key (InsecureAPI).
func httpPublishPath(t testing.TB, addr, path, body string) (int, string) {
	t.Helper()
	status, _, b := trDo(t, "POST", "http://"+addr+path, body)
	return status, string(b)
}

// Presence and join/leave for WebSockets and a long-poller, including a
// poller that silently stops; the offline webhook fires once.
func TestPresenceJoinLeaveAndWebhook(t *testing.T) {
	var mu sync.Mutex
	var events []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Event, User string }
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev.Event+":"+ev.User)
		mu.Unlock()
	}))
	defer hook.Close()
	wh, err := notify.New(notify.Config{URL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close(t.Context())
	clock := newTestClock()
	srv := authServer(t, Config{Now: clock.Now, Tick: 10 * time.Millisecond, PresenceTTL: 4 * time.Second,
		Auth: AuthConfig{Webhook: wh}})
	addr := srv.Addr()
	bob := dialAs(t, addr, token(t, "bob", time.Hour, nil), "ch=room:p")
	bob.expect(map[string]any{"op": "connected"})
	bob.read()
	bob.read()
	carol := dialAs(t, addr, token(t, "carol", time.Hour, nil), "ch=room:p")
	carol.expect(map[string]any{"op": "connected"})
	join := bob.expect(map[string]any{"op": "msg", "ch": "room:p", "seq": 0, "from": "carol"})
	if d, _ := join["data"].(map[string]any); d["join"] == nil {
		t.Fatalf("join event %v", join)
	}
	bob.send(`{"op":"presence","ch":"room:p","id":"q"}`)
	p := bob.expect(map[string]any{"op": "presence", "id": "q", "ch": "room:p", "users": 2, "connections": 2})
	if cl, _ := p["clients"].([]any); len(cl) != 2 {
		t.Fatalf("presence clients %v", p["clients"])
	}
	carol.c.Close()
	leave := bob.expect(map[string]any{"op": "msg", "ch": "room:p", "seq": 0, "from": "carol"})
	if d, _ := leave["data"].(map[string]any); d["leave"] == nil {
		t.Fatalf("leave event %v", leave)
	}
	// A long-poller is present while it polls, and leaves when it stops.
	dave := token(t, "dave", time.Hour, nil)
	mustPoll(t, addr, "ch", "room:p", "wait", "0", "token", dave, "sid", "d1")
	bob.expect(map[string]any{"op": "msg", "ch": "room:p", "from": "dave"})
	clock.Advance(5 * time.Second) // the poller went quiet for longer than PresenceTTL
	leave = bob.expect(map[string]any{"op": "msg", "ch": "room:p", "from": "dave"})
	if d, _ := leave["data"].(map[string]any); d["leave"] == nil {
		t.Fatalf("the quiet poller's leave: %v", leave)
	}
	// The webhook saw carol come and go, once each.
	waitUntil(t, "the offline webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e == "offline:carol" {
				return true
			}
		}
		return false
	})
	// The quiet poller went offline too.
	waitUntil(t, "dave's offline webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(events, "offline:dave")
	})
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"online:carol", "offline:carol", "online:dave"} {
		if n := count(events, want); n != 1 {
			t.Fatalf("%s %d times in %v", want, n, events)
		}
	}
}

func count(list []string, s string) int {
	n := 0
	for _, e := range list {
		if e == s {
			n++
		}
	}
	return n
}

// A client's retried publish (same idem) is stored once and answered with
// the first position; another user's identical key is that user's own.
func TestClientIdempotentPublish(t *testing.T) {
	srv := authServer(t, Config{})
	addr := srv.Addr()
	alice := dialAs(t, addr, token(t, "alice", time.Hour, nil), "")
	alice.expect(map[string]any{"op": "connected"})
	alice.expect(map[string]any{"op": "sub", "ch": "user:alice"})
	bob := dialAs(t, addr, token(t, "bob", time.Hour, nil), "")
	bob.expect(map[string]any{"op": "connected"})
	bob.expect(map[string]any{"op": "sub", "ch": "user:bob"})
	alice.send(`{"op":"pub","ch":"chat:x","data":"once","idem":"k1","id":"a"}`)
	first := alice.expect(map[string]any{"op": "ok", "id": "a"})
	alice.send(`{"op":"pub","ch":"chat:x","data":"once","idem":"k1","id":"b"}`)
	again := alice.expect(map[string]any{"op": "ok", "id": "b"})
	if first["seq"] != again["seq"] {
		t.Fatalf("retry stored again: seq %v then %v", first["seq"], again["seq"])
	}
	bob.send(`{"op":"pub","ch":"chat:x","data":"mine","idem":"k1","id":"c"}`)
	other := bob.expect(map[string]any{"op": "ok", "id": "c"})
	if other["seq"] == first["seq"] {
		t.Fatalf("bob's publish was taken for alice's retry: seq %v", other["seq"])
	}
	// Over POST /send, the key is alice's too.
	status, _, body := trDo(t, "POST", "http://"+addr+"/send?token="+token(t, "alice", time.Hour, nil),
		`{"op":"pub","ch":"chat:x","data":"once","idem":"k1","id":"d"}`)
	var reply map[string]any
	if err := json.Unmarshal(body, &reply); status != 200 || err != nil || reply["seq"] != first["seq"] {
		t.Fatalf("send retry: %d %s, want seq %v", status, body, first["seq"])
	}
}

// typing and presence work over POST /send too, for the HTTP transports'
// clients, with the same permissions.
func TestTypingAndPresenceOverSend(t *testing.T) {
	srv := authServer(t, Config{})
	addr := srv.Addr()
	bob := dialAs(t, addr, token(t, "bob", time.Hour, nil), "ch=room:t")
	bob.expect(map[string]any{"op": "connected"})
	bob.read()
	bob.read()
	send := func(user, body string) map[string]any {
		status, _, b := trDo(t, "POST", "http://"+addr+"/send?token="+token(t, user, time.Hour, nil), body)
		var m map[string]any
		if status != 200 || json.Unmarshal(b, &m) != nil {
			t.Fatalf("send %s: %d %s", body, status, b)
		}
		return m
	}
	if m := send("alice", `{"op":"typing","ch":"room:t","id":"ty"}`); m["op"] != "ok" {
		t.Fatalf("typing over /send: %v", m)
	}
	bob.expect(map[string]any{"op": "msg", "ch": "room:t", "seq": 0, "from": "alice", "data": map[string]any{"typing": true}})
	p := send("alice", `{"op":"presence","ch":"room:t","id":"p"}`)
	if p["op"] != "presence" || !jsonEqual(p["connections"], 1) || p["id"] != "p" {
		t.Fatalf("presence over /send: %v", p)
	}
	if m := send("alice", `{"op":"presence","ch":"vip:x","id":"v"}`); m["op"] != "err" || !jsonEqual(m["code"], 404) {
		t.Fatalf("presence where the namespace keeps none: %v", m)
	}
	if m := send("alice", `{"op":"typing","ch":"public:news"}`); m["op"] != "err" || !jsonEqual(m["code"], 403) {
		t.Fatalf("typing where alice may not publish: %v", m)
	}
}
