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

//go:build linux

// Tests of the Comet patch for read backpressure (COMET-PATCHES.md).

package gnet

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	cometOutput = 1 << 20 // what the server writes in OnOpen and again at resume
	cometInput  = 4 << 20 // what the client writes, far beyond the small socket buffers
	cometBuffer = 16 << 10
)

// cometPauser pauses reading from its one connection in OnOpen, writes
// cometOutput bytes to it, and counts what it reads.
type cometPauser struct {
	BuiltinEventEngine
	addr     chan string
	eng      Engine // set before addr is sent
	conns    chan Conn
	pauseErr chan error
	received atomic.Int64
	traffic  atomic.Int64  // OnTraffic calls
	full     chan struct{} // closed once cometInput bytes were read
}

func (h *cometPauser) OnBoot(eng Engine) Action {
	fd, err := eng.Dup()
	if err != nil {
		h.addr <- ""
		return Shutdown
	}
	sa, err := unix.Getsockname(fd)
	_ = unix.Close(fd)
	if err != nil {
		h.addr <- ""
		return Shutdown
	}
	in4 := sa.(*unix.SockaddrInet4)
	h.eng = eng
	h.addr <- (&net.TCPAddr{IP: net.IP(in4.Addr[:]), Port: in4.Port}).String()
	return None
}

func (h *cometPauser) OnOpen(c Conn) ([]byte, Action) {
	_ = c.SetReadBuffer(cometBuffer)
	_ = c.SetWriteBuffer(cometBuffer) // so that output must wait for writable events
	err := c.PauseRead()
	if err == nil {
		_, err = c.Write(make([]byte, cometOutput))
	}
	h.pauseErr <- err
	h.conns <- c
	return nil, None
}

func (h *cometPauser) OnTraffic(c Conn) Action {
	h.traffic.Add(1)
	n, _ := c.Discard(-1)
	if h.received.Add(int64(n)) == cometInput {
		close(h.full)
	}
	return None
}

// TestCometPauseRead checks that a paused connection is not read (its kernel
// receive queue fills and its writer blocks) while its output still flushes,
// and that ResumeRead reads everything.
func TestCometPauseRead(t *testing.T) {
	h := &cometPauser{
		addr:     make(chan string, 1),
		conns:    make(chan Conn, 1),
		pauseErr: make(chan error, 1),
		full:     make(chan struct{}),
	}
	done := make(chan error, 1)
	go func() {
		done <- Run(h, "tcp://127.0.0.1:0", WithNumEventLoop(1), WithLogger(cometLogger{}))
	}()
	addr := <-h.addr
	if addr == "" {
		t.Fatal("engine did not report its address")
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), cometWait)
		defer cancel()
		if err := h.eng.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	client, err := net.DialTimeout("tcp", addr, cometWait)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close() //nolint:errcheck
	_ = client.(*net.TCPConn).SetWriteBuffer(cometBuffer)
	if err = <-h.pauseErr; err != nil {
		t.Fatalf("PauseRead and Write in OnOpen: %v", err)
	}
	sc := <-h.conns

	// Output flushes while reads are paused.
	_ = client.SetReadDeadline(time.Now().Add(cometWait))
	if _, err = io.ReadFull(client, make([]byte, cometOutput)); err != nil {
		t.Fatalf("reading the server's output while its reads are paused: %v", err)
	}

	// Input is not read: the writer blocks once the kernel queues are full.
	// The deadline only bounds a write that must not complete.
	_ = client.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	input := make([]byte, cometInput)
	written, err := client.Write(input)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a paused connection: %d bytes, %v; want it to block", written, err)
	}
	queued, err := unix.IoctlGetInt(sc.Fd(), unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	if h.traffic.Load() != 0 || queued == 0 {
		t.Fatalf("while paused: %d OnTraffic calls, %d bytes in the kernel queue; want 0 and > 0",
			h.traffic.Load(), queued)
	}
	t.Logf("paused: the writer blocked after %d of %d bytes, %d queued in the server's kernel receive queue",
		written, cometInput, queued)

	// Resume with output pending, so both resumption paths of the poller run
	// across the test: with and without writable interest.
	resumed := make(chan error, 1)
	err = sc.EventLoop().Execute(context.Background(), RunnableFunc(func(context.Context) error {
		_, err := sc.Write(make([]byte, cometOutput))
		if err == nil {
			err = sc.ResumeRead()
		}
		resumed <- err
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err = <-resumed; err != nil {
		t.Fatalf("ResumeRead: %v", err)
	}
	readBack := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(client, make([]byte, cometOutput))
		readBack <- err
	}()
	_ = client.SetWriteDeadline(time.Now().Add(cometWait))
	if _, err = client.Write(input[written:]); err != nil {
		t.Fatalf("write after ResumeRead: %v", err)
	}
	if err = <-readBack; err != nil {
		t.Fatalf("reading the output written at resume: %v", err)
	}
	select {
	case <-h.full:
	case <-time.After(cometWait):
		t.Fatalf("server read %d bytes after ResumeRead, want %d", h.received.Load(), cometInput)
	}
	if got := h.received.Load(); got != cometInput {
		t.Fatalf("server read %d bytes, want %d", got, cometInput)
	}
}
