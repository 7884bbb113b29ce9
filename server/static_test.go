package server

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// get fetches path from srv with an Origin header (none when origin is "").
func getStatic(t *testing.T, srv *Server, path, origin string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+srv.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := (&http.Client{Timeout: readTimeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// TestStaticClientCORSAndVersions: /comet.js is served with CORS for the
// allowed origins only, revalidated, and names its immutable copy
// /comet.<hash>.js, which serves the same bytes cached for a year.
func TestStaticClientCORSAndVersions(t *testing.T) {
	srv := startServer(t, Config{AllowedOrigins: []string{"http://app.example"}})
	res, body := getStatic(t, srv, "/comet.js", "http://app.example")
	if res.StatusCode != 200 || !strings.Contains(body, "export {") {
		t.Fatalf("GET /comet.js: %d, %d bytes", res.StatusCode, len(body))
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "http://app.example" {
		t.Fatalf("Access-Control-Allow-Origin %q", got)
	}
	if !hasValue(res.Header, "Cache-Control", "no-cache") {
		t.Fatalf("Cache-Control %q", res.Header.Values("Cache-Control"))
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	m := regexp.MustCompile(`^</(comet\.[0-9a-f]{12}\.js)>; rel="canonical"$`).FindStringSubmatch(res.Header.Get("Link"))
	if m == nil {
		t.Fatalf("Link %q", res.Header.Get("Link"))
	}
	res2, body2 := getStatic(t, srv, "/"+m[1], "http://app.example")
	if res2.StatusCode != 200 || body2 != body {
		t.Fatalf("GET /%s: %d, same bytes: %v", m[1], res2.StatusCode, body2 == body)
	}
	// One Cache-Control only: with codec's default no-store beside it, a
	// cache would keep nothing.
	if cc := res2.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "public, max-age=31536000, immutable" {
		t.Fatalf("immutable copy: Cache-Control %q", res2.Header.Values("Cache-Control"))
	}
	if got := res2.Header.Get("Access-Control-Allow-Origin"); got != "http://app.example" {
		t.Fatalf("immutable copy: Access-Control-Allow-Origin %q", got)
	}

	// Another origin gets the script without CORS (the browser then keeps
	// it from that page), and every answer varies by Origin.
	res3, _ := getStatic(t, srv, "/comet.js", "http://evil.example")
	if got := res3.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("disallowed origin got Access-Control-Allow-Origin %q", got)
	}
	for _, r := range []*http.Response{res, res2, res3} {
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Fatalf("no Vary: Origin in %v", r.Header)
		}
	}
	res4, _ := getStatic(t, srv, "/comet.0123456789ab.js", "")
	if res4.StatusCode != 404 {
		t.Fatalf("an unknown version: %d", res4.StatusCode)
	}
}

// TestStaticClientDeclarations: the generated declarations are served
// beside the module.
func TestStaticClientDeclarations(t *testing.T) {
	srv := startServer(t, Config{})
	res, body := getStatic(t, srv, "/comet.d.ts", "")
	if res.StatusCode != 200 || !strings.Contains(body, "export class Comet") && !strings.Contains(body, "declare class Comet") {
		t.Fatalf("GET /comet.d.ts: %d\n%.300s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/typescript") {
		t.Fatalf("Content-Type %q", ct)
	}
	// The demo's pages keep their own headers.
	res2, _ := getStatic(t, srv, "/", "")
	if res2.StatusCode != 200 || res2.Header.Get("X-Frame-Options") != "SAMEORIGIN" || res2.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET /: %d %v", res2.StatusCode, res2.Header)
	}
}

// hasValue reports whether one of the header's fields is value.
func hasValue(h http.Header, name, value string) bool {
	for _, v := range h.Values(name) {
		if v == value {
			return true
		}
	}
	return false
}
