package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Proto names the wire protocol a subscriber speaks to a target.
type Proto string

// The protocols Endpoint knows. Adding a transport is one constant and one
// case in Dial and Publish.
const (
	// ProtoComet is Comet's JSON protocol over WebSocket at GET /ws, with
	// POST /api/publish; the baseline hub speaks it too.
	ProtoComet Proto = "comet"
	// ProtoCometSSE subscribes with GET /sse?ch=X (text/event-stream: an
	// "open" event, then one Comet "msg" object per data line) and
	// publishes like ProtoComet.
	ProtoCometSSE Proto = "comet-sse"
	// ProtoCometPoll long-polls GET /poll?ch=X&wait=0 for a cursor, then
	// GET /poll?cursor=C on the same keep-alive connection, one request
	// parked at a time; it publishes like ProtoComet.
	ProtoCometPoll Proto = "comet-poll"
	// ProtoNchan subscribes with a WebSocket on /sub/<channel> (raw message
	// bodies as text frames) and publishes with POST /pub/<channel>.
	ProtoNchan Proto = "nchan"
	// ProtoCentrifugo speaks Centrifugo's v2 JSON client protocol on
	// /connection/websocket and publishes with its v5 HTTP API.
	ProtoCentrifugo Proto = "centrifugo"
)

// Endpoint is where and how to reach a started target. It is plain data so
// that worker processes receive it as JSON.
type Endpoint struct {
	Proto  Proto  `json:"proto"`
	Addr   string `json:"addr"` // host:port
	APIKey string `json:"api_key,omitempty"`
}

// Delivery is one message as a subscriber received it.
type Delivery struct {
	Index  int64 // publisher's 0-based index on the channel ("bi")
	SentNs int64 // publisher's wall clock at send, Unix ns ("bt")
	RecvNs int64 // subscriber's wall clock at receipt, Unix ns
	Seq    int64 // server sequence (Comet seq, Centrifugo offset); 0 if none
}

// Payload builds the message body the harness publishes: a JSON object whose
// "bi" and "bt" fields survive every target's envelope, padded with "pad" to
// at least size bytes.
func Payload(dst []byte, index int64, sent time.Time, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"bi":`...)
	dst = strconv.AppendInt(dst, index, 10)
	dst = append(dst, `,"bt":`...)
	dst = strconv.AppendInt(dst, sent.UnixNano(), 10)
	if pad := size - (len(dst) - start) - len(`,"pad":""}`); pad > 0 {
		dst = append(dst, `,"pad":"`...)
		dst = append(dst, bytes.Repeat([]byte{'x'}, pad)...)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// scanInt finds key (for example `"bi":`) in b and parses the integer after
// it. The harness owns the payload format, so a byte scan is enough and keeps
// the client's CPU out of the measurement.
func scanInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	var v int64
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' && n < 19 {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	return v, n > 0
}

// Sub is one subscriber connection. Its reader goroutine calls the onMsg
// function given to Dial for every delivery until the connection ends.
type Sub struct {
	conn      net.Conn
	rd        *bufio.Reader
	proto     Proto
	onMsg     func(Delivery)
	wmu       sync.Mutex
	closeCode atomic.Int32 // close code the server sent, 0 if none
	done      chan struct{}
	ready     chan error // subscribe confirmation, then nil
	closing   atomic.Bool
	pollAddr  string // long-poll: Host, and the cursor of the next poll
	cursor    string
}

// Done is closed when the reader goroutine has ended.
func (s *Sub) Done() <-chan struct{} { return s.done }

// CloseCode is the WebSocket close code the server sent, 0 if none (or if
// the harness closed the connection itself).
func (s *Sub) CloseCode() int { return int(s.closeCode.Load()) }

// ClosedByServer reports whether the connection ended without the harness
// asking.
func (s *Sub) ClosedByServer() bool {
	select {
	case <-s.done:
		return !s.closing.Load()
	default:
		return false
	}
}

// Close sends a normal close (for WebSockets) and closes the socket.
func (s *Sub) Close() error {
	if s.closing.Swap(true) {
		return nil
	}
	if s.proto != ProtoCometSSE && s.proto != ProtoCometPoll {
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.write(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	}
	return s.conn.Close()
}

// DialOptions tunes one Dial.
type DialOptions struct {
	// Local is the source address (127.0.0.x); nil lets the kernel choose.
	Local net.IP
}

// Dial opens a subscriber on channel ch: TCP connect, upgrade (or HTTP
// request), subscribe, and wait for the target to confirm the subscription
// (targets without a confirmation count as subscribed once upgraded). ctx
// bounds all of it. onMsg runs on the connection's reader goroutine.
func (e Endpoint) Dial(ctx context.Context, ch string, opt DialOptions, onMsg func(Delivery)) (*Sub, error) {
	nd := net.Dialer{}
	if opt.Local != nil {
		nd.LocalAddr = &net.TCPAddr{IP: opt.Local}
	}
	conn, err := nd.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	s := &Sub{conn: conn, proto: e.Proto, onMsg: onMsg, done: make(chan struct{}), ready: make(chan error, 1)}
	var first []byte // first frame to send after the upgrade
	path := ""
	switch e.Proto {
	case ProtoComet:
		path = "/ws"
		first = fmt.Appendf(nil, `{"op":"sub","ch":%q,"id":"s1"}`, ch)
	case ProtoNchan:
		path = "/sub/" + ch
	case ProtoCentrifugo:
		path = "/connection/websocket"
		first = fmt.Appendf(nil, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":%q}}", ch)
	case ProtoCometSSE:
		err = s.startSSE(e.Addr, ch)
	case ProtoCometPoll:
		err = s.startPoll(e.Addr, ch)
	default:
		err = fmt.Errorf("bench: unknown protocol %q", e.Proto)
	}
	if err == nil && path != "" {
		err = s.upgrade(ctx, e.Addr, path)
	}
	if err == nil && first != nil {
		err = s.write(ws.OpText, first)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	if e.Proto == ProtoNchan || e.Proto == ProtoCometPoll {
		s.ready <- nil // no confirmation to wait for, or already had it
	}
	if e.Proto == ProtoCometPoll {
		_ = conn.SetDeadline(time.Time{}) // readPoll sets one per poll
	}
	go s.readLoop()
	select {
	case err = <-s.ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.done:
		err = fmt.Errorf("bench: closed before subscribe (code %d)", s.CloseCode())
	}
	if err != nil {
		s.closing.Store(true)
		conn.Close()
		return nil, err
	}
	if e.Proto != ProtoCometPoll {
		_ = conn.SetDeadline(time.Time{})
	}
	return s, nil
}

func (s *Sub) upgrade(ctx context.Context, addr, path string) error {
	d := ws.Dialer{
		NetDial: func(context.Context, string, string) (net.Conn, error) { return s.conn, nil },
	}
	_, br, _, err := d.Dial(ctx, "ws://"+addr+path)
	if err != nil {
		return err
	}
	if br != nil && br.Buffered() > 0 {
		// The server sent frames right behind its 101; read those first.
		buffered, _ := br.Peek(br.Buffered())
		s.rd = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(append([]byte(nil), buffered...)), s.conn), 2048)
		ws.PutReader(br)
	} else {
		s.rd = bufio.NewReaderSize(s.conn, 2048)
	}
	return nil
}

// write sends one masked client frame (RFC 6455 §5.3).
func (s *Sub) write(op ws.OpCode, p []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	f := ws.NewFrame(op, true, append([]byte(nil), p...))
	return ws.WriteFrame(s.conn, ws.MaskFrameInPlace(f))
}

// maxFrame bounds what the harness buffers for one message.
const maxFrame = 1 << 20

func (s *Sub) readLoop() {
	defer close(s.done)
	switch s.proto {
	case ProtoCometSSE:
		s.readSSE()
		return
	case ProtoCometPoll:
		s.readPoll()
		return
	}
	var msg, buf []byte
	for {
		h, err := ws.ReadHeader(s.rd)
		if err != nil || h.Length > maxFrame {
			return
		}
		if int64(cap(buf)) < h.Length {
			buf = make([]byte, h.Length)
		}
		payload := buf[:h.Length]
		if _, err := io.ReadFull(s.rd, payload); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			_ = s.write(ws.OpPong, payload)
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			if len(payload) >= 2 {
				s.closeCode.Store(int32(binary.BigEndian.Uint16(payload)))
			}
			_ = s.write(ws.OpClose, payload[:min(len(payload), 2)])
			return
		}
		if h.Fin && len(msg) == 0 {
			s.handle(payload, time.Now().UnixNano())
			continue
		}
		msg = append(msg, payload...)
		if len(msg) > maxFrame {
			return
		}
		if !h.Fin {
			continue
		}
		s.handle(msg, time.Now().UnixNano())
		msg = msg[:0]
	}
}

// handle interprets one complete text message.
func (s *Sub) handle(m []byte, now int64) {
	switch s.proto {
	case ProtoComet, ProtoCometSSE:
		switch {
		case bytes.Contains(m, []byte(`"op":"msg"`)):
			s.deliver(m, now, `"seq":`)
		case bytes.Contains(m, []byte(`"op":"sub"`)), bytes.Contains(m, []byte(`"op":"open"`)):
			s.signal(nil)
		case bytes.Contains(m, []byte(`"op":"err"`)):
			s.signal(fmt.Errorf("bench: server error: %s", m))
		}
	case ProtoNchan:
		s.deliver(m, now, "")
	case ProtoCentrifugo:
		// Several replies may share one frame, one JSON object per line.
		for line := range bytes.SplitSeq(m, []byte{'\n'}) {
			switch {
			case len(line) == 0:
			case bytes.Equal(line, []byte("{}")):
				_ = s.write(ws.OpText, []byte("{}")) // protocol v2 pong
			case bytes.Contains(line, []byte(`"push"`)):
				s.deliver(line, now, `"offset":`)
			case bytes.Contains(line, []byte(`"error"`)):
				s.signal(fmt.Errorf("bench: server error: %s", line))
			case bytes.Contains(line, []byte(`"subscribe"`)):
				s.signal(nil)
			}
		}
	}
}

func (s *Sub) signal(err error) {
	select {
	case s.ready <- err:
	default:
	}
}

func (s *Sub) deliver(m []byte, now int64, seqKey string) {
	d := Delivery{Index: -1, RecvNs: now}
	if v, ok := scanInt(m, `"bi":`); ok {
		d.Index = v
	}
	if v, ok := scanInt(m, `"bt":`); ok {
		d.SentNs = v
	}
	if seqKey != "" {
		d.Seq, _ = scanInt(m, seqKey)
	}
	if s.onMsg != nil {
		s.onMsg(d)
	}
}
