package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// The JSON envelope of Comet's native protocol (docs/PROTOCOL.md). Inbound
// messages are rare next to deliveries, so they are decoded with
// encoding/json; outbound ones are appended by hand, without reflection, so
// that encoding a message once for a million subscribers stays cheap and the
// per-delivery path allocates nothing.

// Limits of the envelope.
const (
	// MaxChannelBytes is the longest channel name.
	MaxChannelBytes = 128
	// MaxIDBytes is the longest client request id echoed back in replies.
	MaxIDBytes = 64
)

// Envelope errors; each maps to an "err" reply with the code in its comment.
var (
	ErrBadMessage  = errors.New("protocol: message is not a JSON object of the protocol") // 400
	ErrBadChannel  = errors.New("protocol: invalid channel name")                         // 400
	ErrBadID       = errors.New("protocol: id too long")                                  // 400
	ErrUnknownOp   = errors.New("protocol: unknown op")                                   // 400
	ErrMissingData = errors.New("protocol: pub without data")                             // 400
)

// Op names a client request.
type Op uint8

// Client ops.
const (
	OpUnknown Op = iota
	OpSub
	OpUnsub
	OpPub
	OpPing
)

// ClientMessage is one decoded client request. Data aliases nothing: it is
// a compact copy owned by the message.
type ClientMessage struct {
	Op       Op
	Channel  string
	ID       string
	Epoch    string
	Since    uint64
	HasSince bool
	Data     []byte
}

type wireClientMessage struct {
	Op    string          `json:"op"`
	Ch    string          `json:"ch"`
	ID    string          `json:"id"`
	Epoch string          `json:"epoch"`
	Since *uint64         `json:"since"`
	Data  json.RawMessage `json:"data"`
}

// ParseClientMessage decodes a text message of the native protocol into m.
// On error m.ID is still set when the message carried a usable id, so the
// error reply can name the request.
func ParseClientMessage(b []byte, m *ClientMessage) error {
	*m = ClientMessage{}
	var w wireClientMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return ErrBadMessage
	}
	if len(w.ID) > MaxIDBytes {
		return ErrBadID
	}
	m.ID = w.ID
	switch w.Op {
	case "sub":
		m.Op = OpSub
	case "unsub":
		m.Op = OpUnsub
	case "pub":
		m.Op = OpPub
	case "ping":
		m.Op = OpPing
		return nil
	default:
		return ErrUnknownOp
	}
	if !ValidChannel(w.Ch) {
		return ErrBadChannel
	}
	m.Channel = w.Ch
	m.Epoch = w.Epoch
	if w.Since != nil {
		m.Since, m.HasSince = *w.Since, true
	}
	if m.Op == OpPub {
		if len(w.Data) == 0 || bytes.Equal(w.Data, []byte("null")) {
			return ErrMissingData
		}
		data, err := CompactJSON(w.Data)
		if err != nil {
			return ErrBadMessage
		}
		m.Data = data
	}
	return nil
}

// CompactJSON returns src without insignificant white space, or an error if
// it is not valid JSON. Compact payloads contain no raw newline, which the
// line-oriented HTTP transports (SSE, streaming) rely on.
func CompactJSON(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(src))
	if err := json.Compact(&buf, src); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// channelByte marks the bytes allowed in a channel name. The set needs no
// JSON, HTML, URL-path or SSE escaping, so names are written verbatim into
// every wire format.
var channelByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_:.@/=+#-" {
		t[c] = true
	}
	return t
}()

// ValidChannel reports whether name is a legal channel name: 1 to
// MaxChannelBytes bytes of [A-Za-z0-9_:.@/=+#-].
func ValidChannel[T ~string | ~[]byte](name T) bool {
	if len(name) == 0 || len(name) > MaxChannelBytes {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !channelByte[name[i]] {
			return false
		}
	}
	return true
}

// AppendMsg appends a delivery: {"op":"msg","ch":…,"seq":…,"ts":…,"data":…}.
// ch must be a valid channel name and data compact JSON.
func AppendMsg(dst []byte, ch string, seq uint64, ts int64, data []byte) []byte {
	dst = append(dst, `{"op":"msg","ch":"`...)
	dst = append(dst, ch...)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, `,"data":`...)
	dst = append(dst, data...)
	return append(dst, '}')
}

// SubReply is the answer to a subscribe request.
type SubReply struct {
	ID        string
	Channel   string
	Epoch     []byte
	Seq       uint64 // the channel's current (last assigned) sequence number
	HasSince  bool   // the request carried since: Recovered is meaningful
	Recovered bool   // every message after since is replayed next
}

// AppendSubReply appends {"op":"sub","id":…,"ch":…,"seq":…,"epoch":…,"recovered":…}.
func AppendSubReply(dst []byte, r *SubReply) []byte {
	dst = append(dst, `{"op":"sub"`...)
	dst = appendID(dst, r.ID)
	dst = append(dst, `,"ch":"`...)
	dst = append(dst, r.Channel...)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, `,"epoch":`...)
	dst = append(dst, '"')
	dst = append(dst, r.Epoch...) // epochs are [a-z0-9.]: nothing to escape
	dst = append(dst, '"')
	if r.HasSince {
		dst = append(dst, `,"recovered":`...)
		dst = strconv.AppendBool(dst, r.Recovered)
	}
	return append(dst, '}')
}

// AppendOK appends {"op":"ok","id":…} with "seq" when seq is not zero.
func AppendOK(dst []byte, id string, seq uint64) []byte {
	dst = append(dst, `{"op":"ok"`...)
	dst = appendID(dst, id)
	if seq != 0 {
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendUint(dst, seq, 10)
	}
	return append(dst, '}')
}

// AppendErr appends {"op":"err","id":…,"code":…,"reason":…}.
func AppendErr(dst []byte, id string, code int, reason string) []byte {
	dst = append(dst, `{"op":"err"`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"reason":`...)
	dst = AppendJSONString(dst, reason)
	return append(dst, '}')
}

// AppendPong appends {"op":"pong","id":…}.
func AppendPong(dst []byte, id string) []byte {
	dst = append(dst, `{"op":"pong"`...)
	dst = appendID(dst, id)
	return append(dst, '}')
}

func appendID(dst []byte, id string) []byte {
	if id == "" {
		return dst
	}
	dst = append(dst, `,"id":`...)
	return AppendJSONString(dst, id)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal (RFC 8259 §7).
// Invalid UTF-8 becomes U+FFFD, and <, >, &, U+2028 and U+2029 are escaped
// so the literal is also safe inside an HTML script element.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
