package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Proto names the wire protocol a subscriber speaks to a target.
type Proto string

// The protocols Endpoint knows. Adding a transport is one constant, one
// case in Dial, and its family in Proto.family.
const (
	// ProtoComet is Comet's JSON protocol over WebSocket at GET /ws, with
	// POST /api/publish; the baseline hub and the floor speak it too.
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
	// ProtoNchanSSE subscribes with nchan's EventSource subscriber on
	// GET /sse/<channel> (a ": hi" comment on connect, then one data line
	// per message) and publishes like ProtoNchan.
	ProtoNchanSSE Proto = "nchan-sse"
	// ProtoNchanPoll long-polls nchan's GET /poll/<channel> on one
	// keep-alive connection: one message per answer, the next asked for
	// with the answer's Last-Modified and Etag as If-Modified-Since and
	// If-None-Match; it publishes like ProtoNchan.
	ProtoNchanPoll Proto = "nchan-poll"
	// ProtoCentrifugo speaks Centrifugo's v2 JSON client protocol on
	// /connection/websocket and publishes with its v5 HTTP API.
	ProtoCentrifugo Proto = "centrifugo"
	// ProtoCentrifugoSSE subscribes with Centrifugo's unidirectional SSE,
	// GET /connection/uni_sse?cf_connect={"token":JWT}: the channel comes
	// from the connection token's "channels" claim (HS256, signed with the
	// endpoint's APIKey), a "connect" event confirms it, then one push per
	// data line. It publishes like ProtoCentrifugo.
	ProtoCentrifugoSSE Proto = "centrifugo-sse"
)

// family is the protocol whose publish API and health check p shares: the
// WebSocket protocol of the same server.
func (p Proto) family() Proto {
	switch p {
	case ProtoCometSSE, ProtoCometPoll:
		return ProtoComet
	case ProtoNchanSSE, ProtoNchanPoll:
		return ProtoNchan
	case ProtoCentrifugoSSE:
		return ProtoCentrifugo
	}
	return p
}

// isWebSocket reports whether p's subscribers are WebSockets (they send a
// close frame when the harness closes them).
func (p Proto) isWebSocket() bool { return p.family() == p }

// transports lists, per WebSocket protocol, the protocols of the same server
// that subscribe over SSE and long-poll. Comet's are served only by targets
// that say so (HTTPTransports), not by the baseline or the floor.
var transports = map[Proto]map[string]Proto{
	ProtoComet:      {"sse": ProtoCometSSE, "poll": ProtoCometPoll},
	ProtoNchan:      {"sse": ProtoNchanSSE, "poll": ProtoNchanPoll},
	ProtoCentrifugo: {"sse": ProtoCentrifugoSSE},
}

// overTransport returns the protocol that subscribes to a server speaking p
// over transport ("", "sse" or "poll"), and whether there is one.
func overTransport(p Proto, transport string) (Proto, bool) {
	if transport == "" {
		return p, true
	}
	v, ok := transports[p][transport]
	return v, ok
}

// Endpoint is where and how to reach a started target. It is plain data so
// that worker processes receive it as JSON.
type Endpoint struct {
	Proto  Proto  `json:"proto"`
	Addr   string `json:"addr"` // host:port
	APIKey string `json:"api_key,omitempty"`
	// SubInURL: a Comet WebSocket subscribes in its upgrade's URL
	// (/ws?ch=C), answered by the same sub reply, as nchan's /sub/C does:
	// no subscribe message and no round trip after the upgrade. The floor
	// and the baseline take {"op":"sub"} only.
	SubInURL bool `json:"sub_in_url,omitempty"`
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
	pollPath  string // nchan long-poll: the channel's URL path
	modified  string // nchan long-poll: Last-Modified and Etag of the last answer
	etag      string
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
	if s.proto.isWebSocket() {
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
		if e.SubInURL {
			path += "?ch=" + url.QueryEscape(ch)
		} else {
			first = fmt.Appendf(nil, `{"op":"sub","ch":%q,"id":"s1"}`, ch)
		}
	case ProtoNchan:
		path = "/sub/" + ch
	case ProtoCentrifugo:
		path = "/connection/websocket"
		first = fmt.Appendf(nil, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":%q}}", ch)
	case ProtoCometSSE:
		err = s.startSSE(e.Addr, "/sse?ch="+url.QueryEscape(ch))
	case ProtoNchanSSE:
		err = s.startSSE(e.Addr, "/sse/"+ch)
	case ProtoCentrifugoSSE:
		connect := fmt.Sprintf(`{"token":%q}`, centrifugoToken(e.APIKey, ch))
		err = s.startSSE(e.Addr, "/connection/uni_sse?cf_connect="+url.QueryEscape(connect))
	case ProtoCometPoll:
		err = s.startPoll(e.Addr, ch)
	case ProtoNchanPoll:
		err = s.startNchanPoll(e.Addr, ch)
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
	polling := e.Proto == ProtoCometPoll || e.Proto == ProtoNchanPoll
	if e.Proto == ProtoNchan || polling {
		s.ready <- nil // no confirmation to wait for, or already had it
	}
	if polling {
		_ = conn.SetDeadline(time.Time{}) // the poll loop sets one per poll
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
	if !polling {
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
	case ProtoCometSSE, ProtoNchanSSE, ProtoCentrifugoSSE:
		s.readSSE()
		return
	case ProtoCometPoll:
		s.readPoll()
		return
	case ProtoNchanPoll:
		s.readNchanPoll()
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
	case ProtoNchan, ProtoNchanSSE, ProtoNchanPoll:
		s.deliver(m, now, "")
	case ProtoCentrifugoSSE:
		// One reply or push per event; pings are empty objects and need no
		// answer on a unidirectional connection.
		switch {
		case bytes.Contains(m, []byte(`"pub":`)):
			s.deliver(m, now, `"offset":`)
		case bytes.Contains(m, []byte(`"connect":`)):
			s.signal(nil)
		case bytes.Contains(m, []byte(`"error"`)), bytes.Contains(m, []byte(`"disconnect":`)):
			s.signal(fmt.Errorf("bench: server error: %s", m))
		}
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
