// Copyright (c) 2026 The Comet Authors. All rights reserved.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

// This file is a Comet patch (see COMET-PATCHES.md): it lets the engine survive
// accept errors such as EMFILE when Options.AcceptErrorHandler is set.

package gnet

import (
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/panjf2000/gnet/v2/pkg/queue"
	"github.com/panjf2000/gnet/v2/pkg/socket"
)

// acceptShedMax bounds the connections one failed accept sheds, so that a
// connection flood cannot keep the accepting goroutine shedding forever.
const acceptShedMax = 1024

// acceptBackoff is the accept pause of one accepting event loop.
type acceptBackoff struct {
	// paused is owned by the loop: while it is set, listener events are ignored.
	paused bool

	// mu guards timer and stopped, shared with the timer's goroutine.
	mu    sync.Mutex
	timer *time.Timer
	// stopped is set once the loop has exited, before its poller is closed:
	// from then on the timer must not touch the poller.
	stopped bool
}

// spareFD is a descriptor held in reserve: closing it frees the one slot that
// accepting and closing at once needs under EMFILE (libuv's trick).
type spareFD struct {
	mu   sync.Mutex // several loops may shed at once with ReusePort
	fd   int
	held bool // the zero value must not mean fd 0
}

// reserveSpareFD opens the spare descriptor if an AcceptErrorHandler is set.
func (eng *engine) reserveSpareFD() {
	if eng.opts.AcceptErrorHandler == nil {
		return
	}
	eng.spare.mu.Lock()
	eng.spare.reopenLocked()
	eng.spare.mu.Unlock()
}

func (s *spareFD) reopenLocked() {
	if s.held {
		return
	}
	if fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		s.fd, s.held = fd, true
	}
}

// shed accepts and at once closes what waits on listener fd, up to acceptShedMax
// connections, using the spare descriptor's slot. A spare lost to a race with
// another goroutine of the process is retried on the next shed.
func (eng *engine) shed(fd int) {
	s := &eng.spare
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		s.reopenLocked()
		return
	}
	_ = unix.Close(s.fd)
	s.held = false
	for i := 0; i < acceptShedMax; i++ {
		nfd, _, err := socket.Accept(fd)
		if err == unix.EINTR || err == unix.ECONNRESET || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			break // EAGAIN: drained; EMFILE: someone else took the slot
		}
		_ = unix.Close(nfd)
	}
	s.reopenLocked()
}

// survivesAcceptError reports whether the engine keeps running after accepting
// on listener fd failed with err, an error gnet does not retry. If so, it has
// shed the backlog where it could and paused accepting.
func (el *eventloop) survivesAcceptError(fd int, err error) bool {
	handler := el.engine.opts.AcceptErrorHandler
	if handler == nil {
		return false
	}
	reusePort := el != el.engine.ingress
	if reusePort && runtime.GOOS != "linux" {
		// A level-triggered listener cannot leave kqueue through netpoll.Poller,
		// so a pause would spin: keep the upstream behaviour.
		return false
	}
	d := handler(os.NewSyscallError("accept", err))
	if d <= 0 {
		return false
	}
	if err == unix.EMFILE || err == unix.ENFILE {
		el.engine.shed(fd)
	}
	if err = el.pauseAccept(d, reusePort); err != nil {
		el.getLogger().Errorf("failed to pause accepting in event-loop(%d): %v", el.idx, err)
		return false
	}
	return true
}

// pauseAccept stops accepting on this loop for d. The main reactor's listeners
// are edge-triggered: their events are ignored until resumeAccept drains them.
// A ReusePort loop's listeners are level-triggered and would wake the loop over
// and over, so they leave the poller until then.
func (el *eventloop) pauseAccept(d time.Duration, reusePort bool) error {
	if reusePort {
		for _, ln := range el.listeners {
			if ln.network == "udp" {
				continue
			}
			if err := el.poller.Delete(ln.fd); err != nil {
				return err
			}
		}
	}
	el.acceptPause.paused = true

	b := &el.acceptPause
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer == nil {
		b.timer = time.AfterFunc(d, el.wakeAccept)
	} else {
		b.timer.Reset(d)
	}
	return nil
}

// wakeAccept runs on the timer's goroutine and hands the resumption to the loop.
func (el *eventloop) wakeAccept() {
	b := &el.acceptPause
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	if err := el.poller.Trigger(queue.HighPriority, el.resumeAccept, nil); err != nil {
		// Never resuming would leave the engine up but deaf; stop it instead.
		el.engine.shutdown(err)
	}
}

// resumeAccept ends the pause on the loop. Edges that came during the pause were
// ignored, so the main reactor tries accept(2) again until EAGAIN; a ReusePort
// listener back in the poller reports its backlog by being level-triggered.
func (el *eventloop) resumeAccept(_ any) error {
	el.acceptPause.paused = false
	reusePort := el != el.engine.ingress
	for _, ln := range el.listeners {
		var err error
		switch {
		case ln.network == "udp":
			continue
		case reusePort:
			err = el.poller.AddRead(ln.pollAttachment, false)
		default:
			err = el.accept0(ln.fd, 0, 0)
		}
		if err != nil {
			el.engine.shutdown(err)
			return nil
		}
		if el.acceptPause.paused {
			break // failed again: the next resumption drains the others
		}
	}
	return nil
}

// stopAcceptBackoff runs once every loop has exited and before their pollers
// close: no timer may trigger them afterwards. It also releases the spare.
func (eng *engine) stopAcceptBackoff() {
	stop := func(el *eventloop) {
		b := &el.acceptPause
		b.mu.Lock()
		b.stopped = true
		if b.timer != nil {
			b.timer.Stop()
		}
		b.mu.Unlock()
	}
	eng.eventLoops.iterate(func(_ int, el *eventloop) bool {
		stop(el)
		return true
	})
	if eng.ingress != nil {
		stop(eng.ingress)
	}

	eng.spare.mu.Lock()
	if eng.spare.held {
		_ = unix.Close(eng.spare.fd)
		eng.spare.held = false
	}
	eng.spare.mu.Unlock()
}
