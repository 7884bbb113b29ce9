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

// This file is a Comet patch (see COMET-PATCHES.md): read backpressure per
// connection. While reads are paused the connection is in the poller for
// writable events only, when output is pending, and not at all otherwise
// (c.unpolled), because netpoll.Poller has no "write only" modification.

package gnet

import (
	"runtime"

	errorx "github.com/panjf2000/gnet/v2/pkg/errors"
)

func (c *conn) PauseRead() error {
	if c.isDatagram || c.loop.engine.opts.EdgeTriggeredIO || runtime.GOOS != "linux" {
		return errorx.ErrUnsupportedOp
	}
	if c.readPaused || !c.opened {
		return nil
	}
	c.readPaused = true
	// Delete then re-add: the kernel queue keeps what arrives, and its window
	// closes once it is full.
	if err := c.loop.poller.Delete(c.fd); err != nil {
		return err
	}
	c.unpolled = true
	if c.outboundBuffer.IsEmpty() {
		return nil
	}
	return c.armWrite(false)
}

func (c *conn) ResumeRead() error {
	if !c.readPaused || !c.opened {
		return nil
	}
	c.readPaused = false
	if !c.unpolled {
		if err := c.loop.poller.Delete(c.fd); err != nil {
			return err
		}
	}
	c.unpolled = false
	// Level-triggered: bytes already queued are reported at once.
	if c.outboundBuffer.IsEmpty() {
		return c.loop.poller.AddRead(&c.pollAttachment, false)
	}
	return c.loop.poller.AddReadWrite(&c.pollAttachment, false)
}

// armWrite asks the poller for writable events once output is pending.
func (c *conn) armWrite(isET bool) error {
	if !c.readPaused {
		return c.loop.poller.ModReadWrite(&c.pollAttachment, isET)
	}
	if !c.unpolled {
		return nil // already there for writable events
	}
	c.unpolled = false
	return c.loop.poller.AddWrite(&c.pollAttachment, false)
}

// disarmWrite drops writable events once no output is pending.
func (c *conn) disarmWrite() error {
	if !c.readPaused {
		return c.loop.poller.ModRead(&c.pollAttachment, false)
	}
	if c.unpolled {
		return nil
	}
	c.unpolled = true
	return c.loop.poller.Delete(c.fd)
}
