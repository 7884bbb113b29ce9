package admin

import (
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Dashboard configures the live page at /dashboard. The page is served by
// the admin listener but fed by the node's public port: it opens an SSE
// stream on Channel, to which the stats feed (RunFeed) publishes, so that
// the page shows Comet delivering to a browser as any client sees it.
type Dashboard struct {
	// PublicURL is the base URL at which the browser reaches the node's
	// public port ("http://127.0.0.1:8080", or the node's own name
	// behind a proxy).
	PublicURL string
	// Channel is the stats feed's channel.
	Channel string
	// Token mints a connection token that may subscribe to Channel (a
	// grant for it alone); nil on an open node, where none is needed.
	Token func() (token string, expires time.Time, err error)
	// Off, when not empty, says why the live feed is off; the page shows
	// it instead of numbers.
	Off string
}

//go:embed static
var static embed.FS

// feedAnswer is what the page asks /dashboard/feed for: where to
// subscribe, and with which token.
type feedAnswer struct {
	URL     string `json:"url"`
	Channel string `json:"channel"`
	Token   string `json:"token,omitempty"`
	Expires int64  `json:"expires,omitempty"` // Unix ms
	Off     string `json:"off,omitempty"`
}

func (d *Dashboard) routes(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self' " + originOf(d.PublicURL) + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	file := func(name, ctype string) http.Handler {
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			panic("admin: missing embedded " + name) // a build fault, caught by any test
		}
		return guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Security-Policy", csp)
			_, _ = w.Write(body)
		}))
	}
	mux.Handle("GET /dashboard", file("dashboard.html", "text/html; charset=utf-8"))
	mux.Handle("GET /dashboard/app.js", file("dashboard.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /dashboard/app.css", file("dashboard.css", "text/css; charset=utf-8"))
	mux.Handle("GET /dashboard/icon.svg", file("icon.svg", "image/svg+xml"))
	mux.Handle("GET /dashboard/feed", guard(http.HandlerFunc(d.feed)))
}

// feed answers the page's question: where and how to subscribe.
func (d *Dashboard) feed(w http.ResponseWriter, _ *http.Request) {
	a := feedAnswer{URL: d.PublicURL, Channel: d.Channel, Off: d.Off}
	if d.Off == "" && d.Token != nil {
		tok, exp, err := d.Token()
		if err != nil {
			http.Error(w, "cannot mint a dashboard token", http.StatusInternalServerError)
			return
		}
		a.Token, a.Expires = tok, exp.UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

// originOf returns the scheme://host of a URL, for the page's CSP.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
