package server

import (
	"github.com/comet-im/comet/conn"
	"github.com/comet-im/comet/protocol"
)

// settings is the node's configuration as the loops read it: the Config
// and what is derived from it. A settings value is never changed once
// stored; Reload stores a new one, so a reader sees one configuration or
// the next, never a mix of fields written halfway.
type settings struct {
	Config
	msgLimits    protocol.MessageLimits
	connLimits   conn.Limits // what conn.Feed enforces: a loop takes them when they change
	frameHeaders []byte      // for the iframe transport's page
}

func newSettings(c Config) *settings {
	st := &settings{
		Config:       c,
		msgLimits:    protocol.MessageLimits{MaxDepth: c.MaxJSONDepth},
		connLimits:   conn.Limits{MaxBodyBytes: c.MaxBodyBytes, MaxMessageBytes: c.MaxMessageBytes},
		frameHeaders: frameHeaders(c.AllowedOrigins, true),
	}
	st.connLimits.Head.MaxHeaderBytes = c.MaxHeaderBytes
	st.connLimits.Head.MaxHeaders = c.MaxHeaders
	return st
}

// conf returns the current configuration. Any goroutine; callers that read
// several fields for one decision should call it once.
func (s *Server) conf() *settings { return s.live.Load() }
