package conn

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// splitScripts are fed whole and one byte at a time.
var splitScripts = []struct {
	name    string
	from    State
	in      []byte
	chunked bool // has a chunked body
}{
	{
		name: "frames",
		from: StateWebSocket,
		in: cat(
			text("hello"),
			frame(false, 0, ws.OpText, "echo:frag"),
			ping("ping in the middle"),
			frame(false, 0, ws.OpContinuation, "men"),
			frame(true, 0, ws.OpContinuation, "ted κ"),
			ping(""),
			frame(true, 0, ws.OpBinary, "\x00\xff"),
			text(strings.Repeat("long ", 40)),
			frame(true, 0, ws.OpPong, "unsolicited"),
			closeCode(1000, "done"),
			text("after close"),
		),
	},
	{
		name: "frames ending in a failure",
		from: StateWebSocket,
		in:   cat(text("a"), frame(false, 0, ws.OpText, "b\xce"), ping("p"), frame(true, 0, ws.OpContinuation, "x"), text("never")),
	},
	{
		name: "server close then the reply",
		from: StateClosing,
		in:   cat(text("late"), ping("p"), closeCode(1001, "")),
	},
	{
		name: "http closed by the client",
		from: StateHead,
		in:   cat(str(getHello), str("GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), str(getWorld)),
	},
	{
		name: "http then upgrade",
		from: StateHead,
		in: cat(
			str(getHello),
			str(postHead+"hello world"),
			str(getWorld),
			str(upgradeReq),
			text("echo:up"),
			ping("p"),
			text("bye"),
			closeCode(1000, ""),
		),
	},
	{
		name:    "http with a chunked body",
		from:    StateHead,
		in:      cat(str(getHello), str(chunkHead+chunkBody), str(getWorld), str(chunkHead+chunkBody)),
		chunked: true,
	},
}

type feedResult struct {
	calls    []string
	out      []byte
	state    State
	reason   Reason
	leftover []byte
}

func (r feedResult) equal(o feedResult) bool {
	return slices.Equal(r.calls, o.calls) && bytes.Equal(r.out, o.out) && r.state == o.state &&
		r.reason == o.reason && bytes.Equal(r.leftover, o.leftover)
}

func (hs *harness) result() feedResult {
	return feedResult{hs.h.calls, hs.env.Out, hs.c.State(), hs.c.Reason(), hs.buf}
}

// TestByteAtATime: feeding one byte at a time, keeping the unconsumed bytes
// and appending the next, gives what feeding everything at once gives;
// also when, like the server, Feed is skipped while fewer than Need()
// bytes are buffered.
func TestByteAtATime(t *testing.T) {
	for _, sc := range splitScripts {
		t.Run(sc.name, func(t *testing.T) {
			whole := newHarness(Limits{})
			whole.toState(t, sc.from)
			whole.feed(t, sc.in)
			want := whole.result()
			if len(want.calls) == 0 && len(want.out) == 0 && want.state == sc.from {
				t.Fatal("script does nothing")
			}

			for _, honourNeed := range []bool{false, true} {
				hs := newHarness(Limits{})
				hs.toState(t, sc.from)
				for i := range sc.in {
					if honourNeed && hs.c.Need() > len(hs.buf)+1 {
						hs.buf = append(hs.buf, sc.in[i])
						continue
					}
					hs.feed(t, sc.in[i:i+1])
				}
				if got := hs.result(); !got.equal(want) {
					t.Errorf("honourNeed=%v:\n got %q %q %v %v %q\nwant %q %q %v %v %q", honourNeed,
						got.calls, got.out, got.state, got.reason, got.leftover,
						want.calls, want.out, want.state, want.reason, want.leftover)
				}
			}
		})
	}
}
