package admin

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures an admin Server.
type Config struct {
	// Addr is the host:port to listen on; required. Port 0 picks a free
	// port (Server.Addr reports it).
	Addr string
	// Token, when set, is required on every endpoint but /healthz and
	// /readyz. Required when Addr is not a loopback address.
	Token string
	// Gatherer is what /metrics exposes; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// Alive reports whether the node still serves (/healthz); nil means
	// always.
	Alive func() bool
	// Ready reports whether the node takes new clients, and why not
	// (/readyz); nil means always.
	Ready func() (ok bool, why string)
	// Dashboard, when set, serves the live dashboard page.
	Dashboard *Dashboard
	// Logger receives the listener's warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running admin listener.
type Server struct {
	cfg      Config
	ln       net.Listener
	http     *http.Server
	token    atomic.Pointer[string]
	loopback bool
	log      *slog.Logger
	denied   *warnEvery
}

// MinTokenBytes is the shortest admin token accepted.
const MinTokenBytes = 16

// New validates c and binds its address.
func New(c Config) (*Server, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Addr == "" {
		return nil, errors.New("admin: an address is required")
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin: addr %q: %w", c.Addr, err)
	}
	if err := CheckToken(host, c.Token); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{cfg: c, ln: ln, log: c.Logger}
	s.loopback = isLoopback(host)
	tok := c.Token
	s.token.Store(&tok)
	s.denied = newWarnEvery(c.Logger, "admin: request refused: missing or wrong admin token", 10*time.Second)
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Above the longest CPU profile or trace pprof is allowed to take
		// (maxProfileSeconds).
		WriteTimeout:   maxProfileSeconds*time.Second + 10*time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// CheckToken reports whether token may guard a listener on host: any
// token of at least MinTokenBytes, or none on a loopback address.
func CheckToken(host, token string) error {
	switch {
	case token != "" && len(token) < MinTokenBytes:
		return fmt.Errorf("admin: the admin token must be at least %d bytes", MinTokenBytes)
	case token == "" && !isLoopback(host):
		return fmt.Errorf("admin: address %q is not loopback: an admin token is required (-admin-token)", host)
	}
	return nil
}

// isLoopback reports whether host names only loopback addresses: an IP
// literal in 127.0.0.0/8 or ::1, or "localhost". An empty host (every
// interface) or another name is not.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr returns the address the listener is bound to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves requests on its own goroutine until Shutdown.
func (s *Server) Serve() {
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin listener stopped", "err", err)
		}
	}()
}

// SetToken replaces the admin token (a configuration reload); it refuses
// a token the listener's address may not have.
func (s *Server) SetToken(token string) error {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	if err := CheckToken(host, token); err != nil {
		return err
	}
	s.token.Store(&token)
	return nil
}

// Shutdown stops the listener, letting requests in progress finish until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// maxProfileSeconds caps ?seconds= of the CPU profile and the trace.
const maxProfileSeconds = 60

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /{$}", s.guard(http.HandlerFunc(s.index)))
	if s.cfg.Gatherer != nil {
		mux.Handle("GET /metrics", s.guard(promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog:            slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			MaxRequestsInFlight: 4,
			Timeout:             10 * time.Second,
		})))
	}
	mux.Handle("GET /debug/pprof/", s.guard(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/cmdline", s.guard(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("GET /debug/pprof/profile", s.guard(capSeconds(http.HandlerFunc(pprof.Profile))))
	mux.Handle("GET /debug/pprof/symbol", s.guard(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("POST /debug/pprof/symbol", s.guard(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("GET /debug/pprof/trace", s.guard(capSeconds(http.HandlerFunc(pprof.Trace))))
	if d := s.cfg.Dashboard; d != nil {
		d.routes(mux, s.guard)
	}
	return securityHeaders(mux)
}

// securityHeaders marks every answer as not to be sniffed, framed or
// cached.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// capSeconds refuses a profile longer than maxProfileSeconds, which the
// write timeout would cut.
func capSeconds(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("seconds"); v != "" {
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 || n > maxProfileSeconds {
				http.Error(w, fmt.Sprintf("seconds must be 1..%d", maxProfileSeconds), http.StatusBadRequest)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// guard lets a request through when no token is configured or it carries
// the token.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := *s.token.Load()
		if want == "" || tokenOf(r, want) {
			h.ServeHTTP(w, r)
			return
		}
		s.denied.note("remote", r.RemoteAddr, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Basic realm="comet admin", charset="UTF-8"`)
		http.Error(w, "admin token required", http.StatusUnauthorized)
	})
}

// tokenOf reports whether r carries want: "Authorization: Bearer want",
// or Basic credentials whose password is want (any user name).
func tokenOf(r *http.Request, want string) bool {
	h := r.Header.Get("Authorization")
	scheme, value, ok := strings.Cut(h, " ")
	if !ok {
		return false
	}
	var got string
	switch strings.ToLower(scheme) {
	case "bearer":
		got = strings.TrimSpace(value)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return false
		}
		_, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return false
		}
		got = pass
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.Alive != nil && !s.cfg.Alive() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("stopped\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.Ready != nil {
		if ok, why := s.cfg.Ready(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + why + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("comet admin\n\n")
	if s.cfg.Gatherer != nil {
		b.WriteString("/metrics         Prometheus metrics\n")
	}
	b.WriteString("/healthz         liveness\n/readyz          readiness\n/debug/pprof/    profiles\n")
	if s.cfg.Dashboard != nil {
		b.WriteString("/dashboard       live dashboard\n")
	}
	_, _ = w.Write([]byte(b.String()))
}
