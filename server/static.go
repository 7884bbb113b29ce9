package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/web"
)

// The embedded assets: the demo (web/static, at the site root) and the
// client (web/client/dist): /comet.js, which may change with every
// deployment, /comet.<hash>.js, the same bytes under a name that changes
// when they do (so it is cached for a year), and /comet.d.ts. The client's
// files are served with CORS, so that pages on the allowed origins can
// import the module from Comet's own origin.

// staticFile is one asset, read once at start: assets are small and
// immutable, and serving them must not touch the disk.
type staticFile struct {
	contentType string
	body        []byte
	html        bool
	client      bool   // the client library: CORS for the allowed origins
	headers     string // Cache-Control (and Link), complete lines
}

const (
	revalidate = "Cache-Control: no-cache\r\n"
	immutable  = "Cache-Control: public, max-age=31536000, immutable\r\n"
)

// clientAssets maps the files of web/client/dist to their paths.
var clientAssets = map[string]string{
	"client/dist/comet.js":   "/comet.js",
	"client/dist/comet.d.ts": "/comet.d.ts",
}

func loadStatic() map[string]staticFile {
	files := map[string]staticFile{}
	_ = fs.WalkDir(web.Files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(web.Files, p)
		if err != nil {
			return err
		}
		urlPath := strings.TrimPrefix(p, "static")
		files[urlPath] = staticFile{contentType: contentTypeOf(p), body: body, html: path.Ext(p) == ".html", headers: revalidate}
		if path.Base(urlPath) == "index.html" {
			files[path.Dir(urlPath)] = files[urlPath]
		}
		return nil
	})
	for name, urlPath := range clientAssets {
		body, err := fs.ReadFile(web.Files, name)
		if err != nil {
			continue
		}
		f := staticFile{contentType: contentTypeOf(name), body: body, client: true, headers: revalidate}
		if urlPath == "/comet.js" {
			hashed := "/comet." + contentHash(body) + ".js"
			f.headers += "Link: <" + hashed + ">; rel=\"canonical\"\r\n"
			files[hashed] = staticFile{contentType: f.contentType, body: body, client: true, headers: immutable}
		}
		files[urlPath] = f
	}
	return files
}

// contentHash names a version of an asset: the first 12 hex digits of its
// SHA-256 (48 bits: no two builds collide in practice).
func contentHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:6])
}

func contentTypeOf(name string) string {
	switch {
	case strings.HasSuffix(name, ".d.ts"):
		return "application/typescript; charset=utf-8"
	}
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// serveStatic answers GET/HEAD for an embedded asset; false when none.
func (s *session) serveStatic(env *conn.Env, req *codec.Request) bool {
	srv := s.loop.srv
	f, ok := srv.static[string(req.Path)]
	if !ok {
		return false
	}
	if f.client && string(req.Method) == "OPTIONS" {
		s.preflight(env, req)
		return true
	}
	if !methodIs(req, "GET", "HEAD") {
		s.respondText(env, 405, []byte("Allow: GET, HEAD\r\n"))
		return true
	}
	var extra []byte
	if f.client {
		// A disallowed origin gets no CORS header (the browser then keeps
		// the module from it), like /healthz.
		origin, _ := s.corsOrigin(req)
		extra = s.corsHeaders(origin)
		if extra == nil {
			// Caches must keep the answers to each origin apart, including
			// the one with no Access-Control-Allow-Origin.
			extra = append(s.loop.hdr[:0], "Vary: Origin\r\n"...)
		}
	} else {
		extra = s.loop.hdr[:0]
	}
	if f.html {
		extra = append(extra, srv.pageHeaders...) // only this origin may frame our pages
	}
	extra = append(extra, f.headers...)
	s.loop.hdr = extra
	// For HEAD, Respond announces the length and leaves the body out.
	s.Respond(env, 200, f.contentType, extra, f.body)
	return true
}
