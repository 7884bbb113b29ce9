package server

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/panjf2000/gnet/v2"
)

// Server is one Comet node: a gnet engine, its event loops, and the
// node's interest in channels at its engine (Config.Broker). Its exported
// methods are safe for concurrent use.
type Server struct {
	live         atomic.Pointer[settings] // the configuration; Reload swaps it
	reloadMu     sync.Mutex
	log          *slog.Logger
	handler      *engineHandler
	interest     interests
	adm          admission
	inline       bool          // the engine never blocks: loops call it directly
	work         chan *request // engine calls that may block
	workers      workers
	authWork     chan *request // connect hook calls
	authPool     workers
	nodeID       string        // part of every connection id: unique per node start
	connSeq      atomic.Uint64 // the rest
	presenceJobs chan presenceJob
	dms          dmLocks

	eng    gnet.Engine
	addr   string
	booted chan struct{}
	runErr chan error
	done   chan struct{} // closed when the engine has stopped
	err    error         // why it stopped, when not asked to

	loopMu  sync.Mutex
	loopIdx map[gnet.EventLoop]*loop
	loops   atomic.Pointer[[]*loop]

	static        map[string]staticFile
	pageHeaders   []byte // for every other HTML answer
	draining      atomic.Bool
	acceptBackoff acceptBackoff
	acceptWarn    *rateLimited
	stopSweep     chan struct{}
	sweepDone     sync.WaitGroup
	notReady      atomic.Bool // Config.Ready failed its last check
	stats         serverStats
}

// New validates cfg and returns a server ready to Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Server{
		log:       cfg.Logger,
		booted:    make(chan struct{}),
		runErr:    make(chan error, 1),
		done:      make(chan struct{}),
		loopIdx:   make(map[gnet.EventLoop]*loop),
		static:    loadStatic(),
		stopSweep: make(chan struct{}),
	}
	// The loops call the engine directly only when nothing it needs may
	// block: the broker, and the presence store for presence queries.
	_, s.inline = cfg.Broker.(broker.Inline)
	if _, ok := cfg.Presence.(interface{ Inline() }); cfg.Presence != nil && !ok || cfg.Inbox != nil {
		s.inline = false // and every inbox call is disk or network I/O
	}
	s.nodeID = strconv.FormatInt(time.Now().UnixNano(), 36)
	s.dms.seed = maphash.MakeSeed()
	s.interest.init()
	s.adm.init()
	s.live.Store(newSettings(cfg))
	s.pageHeaders = frameHeaders(nil, false)
	s.acceptWarn = newRateLimited(s.log, slog.LevelWarn,
		"out of file descriptors: shedding new connections and pausing accepts", 5*time.Second)
	s.handler = &engineHandler{srv: s}
	s.loops.Store(new([]*loop))
	return s, nil
}

// Start starts the engine's delivery, binds the listener and starts the
// event loops; it returns once the server accepts connections, or with
// the error that prevented it.
func (s *Server) Start() error {
	if err := s.conf().Broker.Start(s); err != nil {
		return fmt.Errorf("server: broker: %w", err)
	}
	if !s.inline {
		s.work = make(chan *request, s.conf().WorkQueue)
		s.workers.start(s, s.work, s.conf().Workers)
	}
	if s.conf().Auth.Hook != nil {
		s.authWork = make(chan *request, s.conf().WorkQueue)
		s.authPool.start(s, s.authWork, s.conf().Workers)
	}
	s.sweepDone.Add(2)
	go s.sweepInterest()
	go s.janitor(s.stopSweep)
	if s.conf().Ready != nil {
		s.checkReady() // a node that starts without its engine starts unready
		s.sweepDone.Add(1)
		go s.watchReady(s.stopSweep)
	}
	if s.conf().Presence != nil {
		s.presenceJobs = make(chan presenceJob, presenceQueueSize)
		s.sweepDone.Add(1)
		go s.presenceWorker(s.stopSweep)
	}
	go func() {
		err := gnet.Run(s.handler, "tcp://"+s.conf().Addr, gnet.WithOptions(gnet.Options{
			Multicore:          true,
			NumEventLoop:       s.conf().Loops,
			ReuseAddr:          true,
			TCPNoDelay:         gnet.TCPNoDelay,
			Ticker:             true,
			Logger:             gnetLogger{s.log},
			AcceptErrorHandler: s.onAcceptError,
		}))
		if err == nil && !s.draining.Load() {
			// gnet stops its engine on its own after some failures (an
			// accept error it does not survive) and then returns nil: a
			// node that serves nothing must not look alive.
			err = errors.New("server: the event engine stopped on its own (see the gnet log lines before)")
		}
		s.err = err
		s.runErr <- err
		close(s.done)
	}()
	select {
	case <-s.booted:
		s.log.Info("comet listening", "addr", s.addr, "loops", s.conf().Loops, "inline engine", s.inline)
		return nil
	case err := <-s.runErr:
		return fmt.Errorf("server: %w", err)
	}
}

// Done is closed when the engine has stopped, asked to or not.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns why the engine stopped when nobody asked it to; nil after a
// Shutdown. Valid once Done is closed.
func (s *Server) Err() error {
	if s.draining.Load() {
		return nil
	}
	return s.err
}

// Addr returns the address the server listens on, with the real port when
// Config.Addr asked for port 0. Valid after Start.
func (s *Server) Addr() string { return s.addr }

// stop ends the engine, waits for gnet.Run to return, then stops the
// workers and the broker.
func (s *Server) stop() error {
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	select {
	case <-s.done:
		err = s.err
	default:
		err = s.eng.Stop(stopCtx)
		if runErr := <-s.runErr; err == nil {
			err = runErr
		}
	}
	close(s.stopSweep)
	s.sweepDone.Wait()
	if s.work != nil {
		close(s.work)
		s.workers.wg.Wait()
	}
	if s.authWork != nil {
		close(s.authWork)
		s.authPool.wg.Wait()
	}
	if berr := s.conf().Broker.Close(stopCtx); err == nil {
		err = berr
	}
	s.log.Info("comet stopped")
	return err
}

// sweepInterest unsubscribes, at the engine, channels without local
// subscribers for InterestLinger. It runs on its own goroutine: engine
// calls may block.
func (s *Server) sweepInterest() {
	defer s.sweepDone.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var scratch []*interest
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.conf().BrokerTimeout)
			cutoff := s.conf().Now().UnixMilli() - s.conf().InterestLinger.Milliseconds()
			scratch = s.interest.sweep(ctx, s.conf().Broker, cutoff, scratch)
			cancel()
		}
	}
}

// loopOf returns the loop state for a gnet event loop, creating it the
// first time the loop is seen (gnet offers no list of its loops).
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	if l := s.findLoop(el); l != nil {
		return l
	}
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

// findLoop looks el up without a lock: loops are few and never removed.
func (s *Server) findLoop(el gnet.EventLoop) *loop {
	for _, l := range *s.loops.Load() {
		if l.el == el {
			return l
		}
	}
	return nil
}
