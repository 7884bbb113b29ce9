package auth

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// HookConfig configures the connect hook: for applications that
// authenticate users with their own session (a cookie), Comet asks the
// application's backend who a connecting client is (docs/AUTH.md "Connect
// hook"). The zero value of every field but URL means the documented
// default.
type HookConfig struct {
	// URL is the backend endpoint, http or https; POSTed to once per
	// connect.
	URL string
	// Timeout bounds one call, from waiting for a free slot to the last
	// byte of the answer. Zero means 3 s; at most 30 s.
	Timeout time.Duration
	// Headers are the request headers forwarded to the backend (for
	// example "User-Agent", "Origin", "X-Forwarded-For"). Hop-by-hop
	// headers, Host, Content-* and Cookie cannot be forwarded (cookies go
	// through Cookies).
	Headers []string
	// Cookies are the names of the cookies forwarded (the session cookie);
	// the others stay with the client.
	Cookies []string
	// MaxResponseBytes bounds the backend's answer. Zero means 64 KiB; at
	// most 1 MiB.
	MaxResponseBytes int
	// MaxConcurrent bounds the calls in flight; a call waits for a slot
	// within its Timeout. Zero means 64; at most 4096.
	MaxConcurrent int
	// MaxInfoBytes bounds the answer's info, compacted. Zero means 1024.
	MaxInfoBytes int
	// MaxGrants bounds the answer's grant patterns. Zero means 64.
	MaxGrants int
	// CacheTTL, if positive, caches each successful answer for that long
	// (or until the identity's expiry, if sooner), keyed by the forwarded
	// headers and cookies: a request that forwards the same ones gets the
	// same identity without a call (Hook.Cached, Authenticate). The
	// trade-off is that a logout is noticed up to CacheTTL late. Zero
	// means no cache; at most 10 min. The remote address and the transport
	// are not part of the key, and a request that forwards nothing is
	// never cached.
	CacheTTL time.Duration
	// CacheSize bounds the cached answers; the oldest goes first. Zero
	// means 10,000; at most 1,048,576.
	CacheSize int
	// Now is the clock for expire_at and the cache; nil means time.Now.
	Now func() time.Time
}

// Hook bounds.
const (
	DefaultHookTimeout          = 3 * time.Second
	MaxHookTimeout              = 30 * time.Second
	DefaultHookMaxResponseBytes = 64 << 10
	maxHookResponseBytes        = 1 << 20
	DefaultHookMaxConcurrent    = 64
	maxHookConcurrent           = 4096
	maxForwardedHeaderBytes     = 8 << 10
	MaxHookCacheTTL             = 10 * time.Minute
	DefaultHookCacheSize        = 10000
	maxHookCacheSize            = 1 << 20
)

// HookRequest is what the server knows of a connecting client.
type HookRequest struct {
	// Conn is the connection's id (Centrifugo's "client"), for the
	// backend's logs.
	Conn string
	// Transport names the transport: "ws", "sse", "poll", "stream",
	// "iframe", "send".
	Transport string
	// RemoteAddr is the client's address as the server sees it.
	RemoteAddr string
	// Header holds the request's headers; only HookConfig.Headers are
	// forwarded, and a Cookie entry here is ignored.
	Header http.Header
	// Cookie is the request's Cookie header value; only the cookies named
	// in HookConfig.Cookies are forwarded.
	Cookie string
}

// hookRequestBody is the JSON the backend receives.
type hookRequestBody struct {
	Conn       string            `json:"conn,omitempty"`
	Transport  string            `json:"transport,omitempty"`
	RemoteAddr string            `json:"remote_addr,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Cookies    map[string]string `json:"cookies,omitempty"`
}

// hookAnswer is the JSON the backend answers with: flat, or wrapped in
// "result" as Centrifugo's connect proxy answers.
type hookAnswer struct {
	hookResult
	Result *hookResult `json:"result"`
}

type hookResult struct {
	User     string          `json:"user"`
	Client   string          `json:"client"`
	ExpireAt int64           `json:"expire_at"`
	Channels []string        `json:"channels"`
	Grants   *Grants         `json:"grants"`
	Info     json.RawMessage `json:"info"`
}

// HookStats counts a hook's calls, for metrics.
type HookStats struct {
	Calls       uint64 // calls made
	Allowed     uint64 // answered with an identity
	Denied      uint64 // ErrDenied
	Unavailable uint64 // ErrUnavailable, queue waits that timed out included
	CacheHits   uint64 // answered from the cache, without a call
	Cached      int    // answers in the cache now
}

// Hook calls the connect hook's backend. It is safe for concurrent use.
type Hook struct {
	url         string
	timeout     time.Duration
	headers     []string // canonical names
	cookies     map[string]bool
	maxAnswer   int
	slots       chan struct{}
	client      *http.Client
	transport   *http.Transport
	limits      limits
	now         func() time.Time
	cache       *hookCache // nil without CacheTTL
	calls       atomic.Uint64
	hits        atomic.Uint64
	allowed     atomic.Uint64
	denied      atomic.Uint64
	unavailable atomic.Uint64
}

// notForwarded are headers the hook never forwards: hop-by-hop ones (RFC
// 9110 §7.6.1), those that describe the hook's own request, and Cookie.
var notForwarded = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Host": true,
	"Content-Length": true, "Content-Type": true, "Content-Encoding": true,
	"Cookie": true, "Proxy-Authorization": true, "Expect": true,
	"Sec-Websocket-Key": true, "Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true,
}

// NewHook checks c and builds a Hook; the error lists every problem.
func NewHook(c HookConfig) (*Hook, error) {
	var errs []error
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want an absolute http or https URL", c.URL))
	}
	if c.Timeout < 0 || c.Timeout > MaxHookTimeout {
		errs = append(errs, fmt.Errorf("timeout %v out of range [0, %v]", c.Timeout, MaxHookTimeout))
	}
	if c.CacheTTL < 0 || c.CacheTTL > MaxHookCacheTTL {
		errs = append(errs, fmt.Errorf("cache ttl %v out of range [0, %v]", c.CacheTTL, MaxHookCacheTTL))
	}
	errs = append(errs, checkRange("max response bytes", c.MaxResponseBytes, maxHookResponseBytes),
		checkRange("cache size", c.CacheSize, maxHookCacheSize),
		checkRange("max concurrent", c.MaxConcurrent, maxHookConcurrent),
		checkRange("max info bytes", c.MaxInfoBytes, maxMaxInfoBytes),
		checkRange("max grants", c.MaxGrants, maxMaxGrants))
	h := &Hook{
		url:       c.URL,
		timeout:   cmp.Or(c.Timeout, DefaultHookTimeout),
		cookies:   map[string]bool{},
		maxAnswer: orDefault(c.MaxResponseBytes, DefaultHookMaxResponseBytes),
		limits:    limits{maxInfo: orDefault(c.MaxInfoBytes, DefaultMaxInfoBytes), maxGrants: orDefault(c.MaxGrants, DefaultMaxGrants)},
		now:       c.Now,
	}
	for _, name := range c.Headers {
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if name == "" || notForwarded[canon] {
			errs = append(errs, fmt.Errorf("header %q cannot be forwarded", name))
			continue
		}
		h.headers = append(h.headers, canon)
	}
	for _, name := range c.Cookies {
		if name == "" || strings.ContainsAny(name, "=; \t\r\n\"") {
			errs = append(errs, fmt.Errorf("cookie name %q is not a cookie name", name))
			continue
		}
		h.cookies[name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth: hook: %w", err)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if c.CacheTTL > 0 {
		h.cache = newHookCache(c.CacheTTL, orDefault(c.CacheSize, DefaultHookCacheSize))
	}
	n := orDefault(c.MaxConcurrent, DefaultHookMaxConcurrent)
	h.slots = make(chan struct{}, n)
	// Proxy is nil on purpose: the hook goes where it is configured to,
	// whatever HTTP_PROXY the process inherited.
	h.transport = &http.Transport{
		DialContext:            (&net.Dialer{Timeout: h.timeout}).DialContext,
		MaxIdleConns:           n,
		MaxIdleConnsPerHost:    n,
		MaxConnsPerHost:        n,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    h.timeout,
		ResponseHeaderTimeout:  h.timeout,
		MaxResponseHeaderBytes: 16 << 10,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
	}
	h.client = &http.Client{
		Transport: h.transport,
		// A redirect is answered as a failure: the hook does not follow a
		// backend to somewhere else with the user's cookies.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h, nil
}

// Close releases the hook's idle connections.
func (h *Hook) Close() { h.transport.CloseIdleConnections() }

// Stats returns the hook's counters.
func (h *Hook) Stats() HookStats {
	s := HookStats{Calls: h.calls.Load(), Allowed: h.allowed.Load(), Denied: h.denied.Load(),
		Unavailable: h.unavailable.Load(), CacheHits: h.hits.Load()}
	if h.cache != nil {
		s.Cached = h.cache.len()
	}
	return s
}

// Cached returns the cached identity for r, if the cache holds a live one.
// It never calls the backend: CPU only, a mutex held for a map lookup, so
// the server may call it on an event loop and take the async path only on
// a miss. Without CacheTTL it always misses. The Identity's slices are
// shared with the cache and must not be modified.
func (h *Hook) Cached(r HookRequest) (Identity, bool) {
	if h.cache == nil {
		return Identity{}, false
	}
	k, keyed := h.cacheKey(r)
	if !keyed {
		return Identity{}, false
	}
	id, ok := h.cache.get(k, h.now())
	if ok {
		h.hits.Add(1)
	}
	return id, ok
}

// Authenticate asks the backend who r is. It blocks for up to the hook's
// Timeout (or until ctx ends) and must not run on an event loop.
//
// With CacheTTL, a live cached answer for the same forwarded headers and
// cookies is returned without a call; only successes are cached.
//
// The backend answers 200 with a user: the identity. 401 or 403, or 200
// without a user: ErrDenied. Anything else, a timeout, a refused
// connection, an answer over MaxResponseBytes or one that is not the
// documented JSON: ErrUnavailable.
func (h *Hook) Authenticate(ctx context.Context, r HookRequest) (Identity, error) {
	if id, ok := h.Cached(r); ok {
		return id, nil
	}
	id, err := h.authenticate(ctx, r)
	switch {
	case err == nil:
		h.allowed.Add(1)
		if h.cache != nil {
			if k, keyed := h.cacheKey(r); keyed {
				h.cache.put(k, id, h.now())
			}
		}
	case errors.Is(err, ErrDenied):
		h.denied.Add(1)
	default:
		h.unavailable.Add(1)
	}
	return id, err
}

func (h *Hook) authenticate(ctx context.Context, r HookRequest) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-ctx.Done():
		return Identity{}, fail(ErrUnavailable, "hook busy", ctx.Err())
	}
	h.calls.Add(1)
	req, err := h.request(ctx, r)
	if err != nil {
		return Identity{}, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return Identity{}, fail(ErrUnavailable, "hook unreachable", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return Identity{}, fail(ErrDenied, "denied by backend", fmt.Errorf("hook answered %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return Identity{}, fail(ErrUnavailable, "hook failed", fmt.Errorf("hook answered %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(h.maxAnswer)+1))
	if err != nil {
		return Identity{}, fail(ErrUnavailable, "hook failed", err)
	}
	if len(body) > h.maxAnswer {
		return Identity{}, fail(ErrUnavailable, "hook answer too large", nil)
	}
	return h.identity(body)
}

// request builds the POST: the forwarded headers and cookies go both as
// the request's own headers (so the backend's usual session middleware
// reads them) and in the JSON body.
func (h *Hook) request(ctx context.Context, r HookRequest) (*http.Request, error) {
	in := hookRequestBody{Conn: r.Conn, Transport: r.Transport, RemoteAddr: r.RemoteAddr}
	out := http.Header{}
	size := 0
	for _, name := range h.headers {
		v := r.Header.Get(name)
		if v == "" {
			continue
		}
		if size += len(name) + len(v); size > maxForwardedHeaderBytes {
			return nil, fail(ErrUnavailable, "forwarded headers too large", nil)
		}
		if in.Headers == nil {
			in.Headers = map[string]string{}
		}
		in.Headers[name] = v
		out.Set(name, v)
	}
	var cookie strings.Builder
	for rest := r.Cookie; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, ";")
		pair = strings.TrimSpace(pair)
		name, value, ok := strings.Cut(pair, "=")
		if !ok || !h.cookies[name] {
			continue
		}
		if in.Cookies == nil {
			in.Cookies = map[string]string{}
		}
		if _, dup := in.Cookies[name]; dup {
			continue // the first one wins, as for tokens
		}
		if size += len(pair); size > maxForwardedHeaderBytes {
			return nil, fail(ErrUnavailable, "forwarded headers too large", nil)
		}
		in.Cookies[name] = value
		if cookie.Len() > 0 {
			cookie.WriteString("; ")
		}
		cookie.WriteString(pair)
	}
	if cookie.Len() > 0 {
		out.Set("Cookie", cookie.String())
	}
	body, err := json.Marshal(&in)
	if err != nil {
		return nil, fail(ErrUnavailable, "hook request", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, fail(ErrUnavailable, "hook request", err)
	}
	req.Header = out
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "comet-connect-hook")
	}
	return req, nil
}

// identity reads the backend's 200 answer.
func (h *Hook) identity(body []byte) (Identity, error) {
	var a hookAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Identity{}, fail(ErrUnavailable, "hook answer is not the documented JSON", err)
	}
	res := &a.hookResult
	if a.Result != nil {
		res = a.Result
	}
	if res.User == "" {
		return Identity{}, fail(ErrDenied, "denied by backend", errors.New("hook answer names no user"))
	}
	id, e := h.limits.identity(ErrUnavailable, res.User, res.Client, res.Info, res.Channels, res.Grants)
	if e != nil {
		return Identity{}, e
	}
	if res.ExpireAt != 0 {
		id.Expiry = time.Unix(res.ExpireAt, 0)
		if !h.now().Before(id.Expiry) {
			return Identity{}, fail(ErrDenied, "denied by backend", errors.New("hook answer has expired"))
		}
	}
	return id, nil
}
