// Package web holds Comet's browser assets: the comet.js client and the web
// IM demo, embedded into the server binary so `make run` serves them with no
// files beside it.
//
// It imports only the standard library; package server serves Files.
package web

import "embed"

// Files holds the static assets under static/, served at the site root.
//
//go:embed static
var Files embed.FS
