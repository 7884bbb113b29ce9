package server

import (
	"io/fs"
	"path"
	"strings"

	"github.com/comet-im/comet/codec"
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/web"
)

// staticFiles maps a request path to an embedded asset, read once at start:
// assets are small and immutable, and serving them must not touch the disk.
type staticFile struct {
	contentType string
	body        []byte
	html        bool
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
		files[urlPath] = staticFile{contentType: contentTypeOf(p), body: body, html: path.Ext(p) == ".html"}
		if path.Base(urlPath) == "index.html" {
			files[path.Dir(urlPath)] = files[urlPath]
		}
		return nil
	})
	return files
}

func contentTypeOf(name string) string {
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
	f, ok := s.loop.srv.static[string(req.Path)]
	if !ok {
		return false
	}
	if !methodIs(req, "GET", "HEAD") {
		s.respondText(env, 405, []byte("Allow: GET, HEAD\r\n"))
		return true
	}
	extra := s.loop.hdr[:0]
	if f.html {
		extra = append(extra, s.loop.srv.pageHeaders...) // only this origin may frame our pages
	}
	s.loop.hdr = extra
	// For HEAD, Respond announces the length and leaves the body out.
	s.Respond(env, 200, f.contentType, extra, f.body)
	return true
}
