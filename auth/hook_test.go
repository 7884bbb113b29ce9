package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// backend starts a real HTTP backend for the hook.
func backend(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newHook(t *testing.T, c HookConfig) *Hook {
	t.Helper()
	if c.Now == nil {
		c.Now = fixedNow
	}
	h, err := NewHook(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

var hookReq = HookRequest{
	Conn: "c1", Transport: "ws", RemoteAddr: "127.0.0.1:5555",
	Header: http.Header{"User-Agent": {"test-browser"}, "X-Secret": {"do not forward"}, "Cookie": {"session=from-header"}},
	Cookie: "session=s3cr3t; tracking=1; session=second",
}

func TestHookUp(t *testing.T) {
	var got struct {
		body   hookRequestBody
		header http.Header
		method string
	}
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		got.method, got.header = r.Method, r.Header
		if err := json.NewDecoder(r.Body).Decode(&got.body); err != nil {
			t.Error(err)
		}
		io.WriteString(w, `{"user":"alice","client":"laptop","expire_at":`+jsonInt(testNow.Add(time.Hour).Unix())+
			`,"channels":["room:1"],"grants":{"publish":["room:1"]},"info":{ "name" : "Alice" }}`)
	})
	h := newHook(t, HookConfig{URL: srv.URL, Headers: []string{"user-agent"}, Cookies: []string{"session"}})
	id, err := h.Authenticate(context.Background(), hookReq)
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "alice" || id.Client != "laptop" || id.Expiry.Unix() != testNow.Add(time.Hour).Unix() ||
		!MatchGrant(id.Grants.Subscribe, "room:1") || !MatchGrant(id.Grants.Publish, "room:1") || string(id.Info) != `{"name":"Alice"}` {
		t.Fatalf("identity %+v", id)
	}
	if got.method != http.MethodPost || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %v", got.method, got.header)
	}
	// Only the configured header and cookie travel, as headers and in the body.
	if got.header.Get("User-Agent") != "test-browser" || got.header.Get("X-Secret") != "" || got.header.Get("Cookie") != "session=s3cr3t" {
		t.Errorf("forwarded headers %v", got.header)
	}
	b := got.body
	if b.Conn != "c1" || b.Transport != "ws" || b.RemoteAddr != "127.0.0.1:5555" ||
		len(b.Headers) != 1 || b.Headers["User-Agent"] != "test-browser" ||
		len(b.Cookies) != 1 || b.Cookies["session"] != "s3cr3t" {
		t.Errorf("body %+v", b)
	}
	if s := h.Stats(); s.Calls != 1 || s.Allowed != 1 {
		t.Errorf("stats %+v", s)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestHookAnswers(t *testing.T) {
	cases := []struct {
		name   string
		h      http.HandlerFunc
		kind   error
		reason string
	}{
		{"centrifugo result form", answer(200, `{"result":{"user":"bob"}}`), nil, ""},
		{"no expiry", answer(200, `{"user":"bob"}`), nil, ""},
		{"401", answer(401, `{"user":"bob"}`), ErrDenied, "denied by backend"},
		{"403", answer(403, ``), ErrDenied, "denied by backend"},
		{"200 without user", answer(200, `{"error":{"code":1000}}`), ErrDenied, "denied by backend"},
		{"200 null", answer(200, `null`), ErrDenied, "denied by backend"},
		{"expired answer", answer(200, `{"user":"bob","expire_at":`+jsonInt(testNow.Add(-time.Second).Unix())+`}`), ErrDenied, "denied by backend"},
		{"500", answer(500, `{"user":"bob"}`), ErrUnavailable, "hook failed"},
		{"404", answer(404, ``), ErrUnavailable, "hook failed"},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		}, ErrUnavailable, "hook failed"},
		{"malformed JSON", answer(200, `{"user":`), ErrUnavailable, "hook answer is not the documented JSON"},
		{"not JSON", answer(200, `<html>login</html>`), ErrUnavailable, "hook answer is not the documented JSON"},
		{"wrong types", answer(200, `{"user":7}`), ErrUnavailable, "hook answer is not the documented JSON"},
		{"bad user id", answer(200, `{"user":"a b"}`), ErrUnavailable, "bad user id"},
		{"bad grant", answer(200, `{"user":"bob","channels":["*"]}`), ErrUnavailable, "bad grant"},
		{"info not an object", answer(200, `{"user":"bob","info":"x"}`), ErrUnavailable, "info is not an object"},
		{"oversized answer", answer(200, `{"user":"bob","info":{"x":"`+strings.Repeat("a", 2000)+`"}}`), ErrUnavailable, "hook answer too large"},
		{"oversized error page", answer(500, strings.Repeat("a", 100<<10)), ErrUnavailable, "hook failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := backend(t, c.h)
			h := newHook(t, HookConfig{URL: srv.URL, MaxResponseBytes: 1024})
			id, err := h.Authenticate(context.Background(), hookReq)
			wantKind(t, err, c.kind)
			if reasonOf(err) != c.reason {
				t.Fatalf("reason %q, want %q (%v)", reasonOf(err), c.reason, err)
			}
			if c.kind == nil && id.User != "bob" {
				t.Fatalf("identity %+v", id)
			}
			if c.kind != nil && id.User != "" {
				t.Fatalf("a failure returned user %q", id.User)
			}
		})
	}
}

func TestHookSlow(t *testing.T) {
	release := make(chan struct{})
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	h := newHook(t, HookConfig{URL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := h.Authenticate(context.Background(), hookReq)
	wantKind(t, err, ErrUnavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v: want the deadline as the cause", err)
	}
	if AnswerFor(err).Status != 503 {
		t.Fatalf("answer %+v", AnswerFor(err))
	}
	// The caller's context bounds the call too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = h.Authenticate(ctx, hookReq)
	wantKind(t, err, ErrUnavailable)
}

func TestHookDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	h := newHook(t, HookConfig{URL: "http://" + addr + "/auth"})
	_, err = h.Authenticate(context.Background(), hookReq)
	wantKind(t, err, ErrUnavailable)
	if reasonOf(err) != "hook unreachable" {
		t.Fatalf("reason %q", reasonOf(err))
	}
	if s := h.Stats(); s.Unavailable != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHookConcurrencyBound(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, `{"user":"first"}`)
	})
	h := newHook(t, HookConfig{URL: srv.URL, MaxConcurrent: 1, Timeout: 30 * time.Second})
	first := make(chan error, 1)
	go func() {
		_, err := h.Authenticate(context.Background(), hookReq)
		first <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("first call never reached the backend")
	}
	// The only slot is held until release: the second call must give up.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := h.Authenticate(ctx, hookReq)
	wantKind(t, err, ErrUnavailable)
	if reasonOf(err) != "hook busy" {
		t.Fatalf("reason %q, want hook busy", reasonOf(err))
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if s := h.Stats(); s.Calls != 1 || s.Allowed != 1 || s.Unavailable != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHookConfigErrors(t *testing.T) {
	for name, c := range map[string]HookConfig{
		"no url":         {},
		"relative url":   {URL: "/auth"},
		"ftp":            {URL: "ftp://127.0.0.1/"},
		"host header":    {URL: "http://127.0.0.1/", Headers: []string{"host"}},
		"cookie header":  {URL: "http://127.0.0.1/", Headers: []string{"Cookie"}},
		"hop by hop":     {URL: "http://127.0.0.1/", Headers: []string{"connection"}},
		"bad cookie":     {URL: "http://127.0.0.1/", Cookies: []string{"a=b"}},
		"timeout":        {URL: "http://127.0.0.1/", Timeout: time.Hour},
		"response bound": {URL: "http://127.0.0.1/", MaxResponseBytes: 2 << 20},
	} {
		if _, err := NewHook(c); err == nil || !strings.HasPrefix(err.Error(), "auth: hook: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func TestHookCache(t *testing.T) {
	var calls atomic.Int32
	srv := backend(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		c, err := r.Cookie("session")
		switch {
		case err != nil:
			w.WriteHeader(401)
		case c.Value == "bob":
			io.WriteString(w, `{"user":"bob","expire_at":`+jsonInt(testNow.Add(10*time.Second).Unix())+`}`)
		case c.Value == "down":
			w.WriteHeader(500)
		default:
			io.WriteString(w, `{"user":"alice","info":{"n":`+jsonInt(int64(n))+`}}`)
		}
	})
	now := testNow
	h := newHook(t, HookConfig{URL: srv.URL, Cookies: []string{"session"}, CacheTTL: time.Minute, CacheSize: 2, Now: func() time.Time { return now }})
	req := func(cookie string) HookRequest { return HookRequest{Cookie: cookie, RemoteAddr: "127.0.0.1:1"} }
	auth := func(cookie string) (Identity, error) { return h.Authenticate(context.Background(), req(cookie)) }

	if _, ok := h.Cached(req("session=alice")); ok {
		t.Fatal("hit in an empty cache")
	}
	first, err := auth("session=alice; other=1")
	if err != nil {
		t.Fatal(err)
	}
	// Same session cookie, another unforwarded cookie and address: a hit.
	id, ok := h.Cached(HookRequest{Cookie: "other=2; session=alice", RemoteAddr: "127.0.0.1:2"})
	if !ok || id.User != "alice" || string(id.Info) != string(first.Info) {
		t.Fatalf("Cached = %+v %v", id, ok)
	}
	if _, err := auth("session=alice"); err != nil || calls.Load() != 1 {
		t.Fatalf("a cached answer called the backend (%d calls, %v)", calls.Load(), err)
	}
	// Failures are not cached.
	for range 2 {
		_, err := auth("")
		wantKind(t, err, ErrDenied)
		_, err = auth("session=down")
		wantKind(t, err, ErrUnavailable)
	}
	if calls.Load() != 5 {
		t.Fatalf("%d calls, want 5: failures must not be cached", calls.Load())
	}
	// The identity's own expiry bounds its cache entry.
	if _, err := auth("session=bob"); err != nil {
		t.Fatal(err)
	}
	now = testNow.Add(11 * time.Second)
	if _, ok := h.Cached(req("session=bob")); ok {
		t.Fatal("served past the identity's expiry")
	}
	if _, ok := h.Cached(req("session=alice")); !ok {
		t.Fatal("alice's entry expired early")
	}
	// The cache's ttl bounds the rest.
	now = testNow.Add(61 * time.Second)
	if _, ok := h.Cached(req("session=alice")); ok {
		t.Fatal("served past the cache ttl")
	}
	// Bounded: three sessions in a cache of two.
	for _, s := range []string{"a1", "a2", "a3"} {
		if _, err := auth("session=" + s); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := h.Cached(req("session=a1")); ok {
		t.Fatal("the oldest entry was not evicted")
	}
	if _, ok := h.Cached(req("session=a3")); !ok {
		t.Fatal("the newest entry was evicted")
	}
	if s := h.Stats(); s.Cached > 2 || s.CacheHits < 3 {
		t.Fatalf("stats %+v", s)
	}
	// A request that forwards nothing is never cached.
	var byAddr atomic.Int32
	srv2 := backend(t, func(w http.ResponseWriter, r *http.Request) {
		byAddr.Add(1)
		io.WriteString(w, `{"user":"whoever-127.0.0.1"}`)
	})
	nothing := newHook(t, HookConfig{URL: srv2.URL, CacheTTL: time.Minute})
	for range 2 {
		if _, err := nothing.Authenticate(context.Background(), req("session=alice")); err != nil {
			t.Fatal(err)
		}
	}
	if byAddr.Load() != 2 {
		t.Fatal("an answer keyed on nothing was shared")
	}
}
