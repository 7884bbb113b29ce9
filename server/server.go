package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comet-im/comet/conn"
	"github.com/panjf2000/gnet/v2"
)

// Server is one Comet node: a gnet engine, its event loops, and the channel
// registry they share. Its exported methods are safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	channels *registry
	handler  *engineHandler

	eng    gnet.Engine
	addr   string
	booted chan struct{}
	runErr chan error

	loopMu  sync.Mutex
	loopIdx map[gnet.EventLoop]*loop
	loops   atomic.Pointer[[]*loop]

	static     map[string]staticFile
	draining   atomic.Bool
	sweepShard int // next registry shard to sweep; ticker goroutine only
	stats      serverStats
}

// New validates cfg and returns a server ready to Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		channels: newRegistry(),
		booted:   make(chan struct{}),
		runErr:   make(chan error, 1),
		loopIdx:  make(map[gnet.EventLoop]*loop),
		static:   loadStatic(),
	}
	s.handler = &engineHandler{srv: s}
	s.loops.Store(new([]*loop))
	return s, nil
}

// Start binds the listener and starts the event loops; it returns once the
// server accepts connections, or with the error that prevented it.
func (s *Server) Start() error {
	go func() {
		s.runErr <- gnet.Run(s.handler, "tcp://"+s.cfg.Addr, gnet.WithOptions(gnet.Options{
			Multicore:    true,
			NumEventLoop: s.cfg.Loops,
			ReuseAddr:    true,
			TCPNoDelay:   gnet.TCPNoDelay,
			Ticker:       true,
			Logger:       gnetLogger{s.log},
		}))
	}()
	select {
	case <-s.booted:
		s.log.Info("comet listening", "addr", s.addr, "loops", s.cfg.Loops)
		return nil
	case err := <-s.runErr:
		return fmt.Errorf("server: %w", err)
	}
}

// Addr returns the address the server listens on, with the real port when
// Config.Addr asked for port 0. Valid after Start.
func (s *Server) Addr() string { return s.addr }

// Shutdown drains the server: new connections are refused, WebSockets get a
// 1001 close frame and a moment to answer, idle HTTP connections close.
// It returns when every connection is gone or when ctx or the configured
// drain deadline ends, then stops the event loops.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.draining.CompareAndSwap(false, true) {
		return errors.New("server: already shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	defer cancel()
	for _, l := range *s.loops.Load() {
		_ = l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			defer l.recoverPanic(nil)
			l.drainSessions()
			return nil
		}))
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.stats.connections.Load() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("drain deadline reached", "open", s.stats.connections.Load())
			return s.stop()
		case <-tick.C:
		}
	}
	return s.stop()
}

// stop ends the engine and waits for gnet.Run to return.
func (s *Server) stop() error {
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.eng.Stop(stopCtx)
	if runErr := <-s.runErr; err == nil {
		err = runErr
	}
	s.log.Info("comet stopped")
	return err
}

// drainSessions closes every session of the loop for shutdown.
func (l *loop) drainSessions() {
	// close edits l.sessions, so walk a copy.
	sessions := append([]*session(nil), l.sessions...)
	for _, s := range sessions {
		switch {
		case s.State() == conn.StateWebSocket:
			s.close(conn.ReasonShutdown)
		case s.kind == kindPoll && s.State() == conn.StateParked:
			s.stream.keepAlive = false // answered, then closed
			s.finishPoll()
		case s.State() == conn.StateParked:
			s.close(conn.ReasonShutdown) // streams: the last chunk, then close
		default:
			s.closeSocket(conn.ReasonShutdown)
		}
	}
}

// loopOf returns the loop state for a gnet event loop, creating it the
// first time the loop is seen (gnet offers no list of its loops).
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	if l := s.loopIdx[el]; l != nil {
		return l
	}
	old := *s.loops.Load()
	l := newLoop(s, len(old), el)
	s.loopIdx[el] = l
	grown := append(append(make([]*loop, 0, len(old)+1), old...), l)
	s.loops.Store(&grown)
	return l
}
