// Package web holds Comet's browser assets: the comet.js client and the web
// IM demo, embedded into the server binary so `make run` serves them with no
// files beside it.
//
// The client's sources are under client/src; client/dist holds the build
// (one ES module and its declarations), committed so that `go build` needs
// no node. The test in test/e2e/client_build_test.go fails when the build
// is stale.
//
// It imports only the standard library; package server serves Files.
package web

import "embed"

// Files holds the demo under static/ (served at the site root) and the
// built client under client/dist/ (served at /comet.js and /comet.d.ts).
//
//go:embed static client/dist/comet.js client/dist/comet.d.ts
var Files embed.FS
