package protocol

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The JSON envelope of Comet's native protocol (docs/PROTOCOL.md). Inbound
// client messages are decoded in one strict pass (ParseClientMessage);
// outbound ones are appended by hand, without reflection, so that encoding
// a message once for a million subscribers stays cheap and the per-delivery
// path allocates nothing.

// Limits of the envelope.
const (
	// MaxChannelBytes is the longest channel name.
	MaxChannelBytes = 128
	// MaxIDBytes is the longest client request id echoed back in replies.
	MaxIDBytes = 64
	// MaxTokenBytes is the longest token a client may send.
	MaxTokenBytes = 4096
	// MaxIdemBytes is the longest idempotency key.
	MaxIdemBytes = 64
	// MaxUserBytes is the longest user id a client names ("to").
	MaxUserBytes = 64
)

// Envelope errors; each maps to an "err" reply with the code in its comment
// (ErrorOf). A client message can also fail with the data errors of
// json.go (ErrInvalidUTF8, ErrTooDeep, ErrNumberRange), found anywhere in
// it. The newer ones are *Error values, which ErrorOf maps by themselves.
var (
	ErrBadMessage  = errors.New("protocol: message is not a JSON object of the protocol")    // 400
	ErrBadChannel  = errors.New("protocol: invalid channel name")                            // 400
	ErrBadID       = errors.New("protocol: id too long")                                     // 400
	ErrUnknownOp   = errors.New("protocol: unknown op")                                      // 400
	ErrMissingData = errors.New("protocol: pub without data")                                // 400
	ErrBadToken    = &Error{400, "token too long"}                                           // 400
	ErrBadIdem     = &Error{400, "idem too long"}                                            // 400
	ErrBadTo       = &Error{400, "bad to: a user id of [A-Za-z0-9_:.@/=+#-], 1 to 64 bytes"} // 400
	ErrBadConv     = &Error{400, "bad conv: a conversation id of channel bytes"}             // 400
	ErrMissingSeq  = &Error{400, "seq required"}                                             // 400
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
	OpRefresh  // a new connection token, in Token
	OpPresence // who is present in the channel
	OpTyping   // an ephemeral signal to the channel's subscribers
	OpAck      // the client processed the channel's messages up to Seq
	OpDM       // a direct message to the user To
	OpRead     // the user read conversation Conv up to Seq (a seq of its personal channel)
	OpUnread   // the user's unread counts
)

// opTable lists the ops a client may send: the name on the wire and what a
// request of that op must carry. A new op is one constant above and one
// line here; a name not listed decodes as OpUnknown (ErrUnknownOp).
var opTable = [...]struct {
	name    string
	op      Op
	channel bool // requires a valid "ch"; Channel, Epoch and Since are kept
	data    bool // requires "data" other than null; Data is kept
	to      bool // requires a valid "to"; To is kept
	conv    bool // requires a valid "conv" and "seq"; Conv is kept
}{
	{"sub", OpSub, true, false, false, false},
	{"unsub", OpUnsub, true, false, false, false},
	{"pub", OpPub, true, true, false, false},
	{"ping", OpPing, false, false, false, false},
	{"refresh", OpRefresh, false, false, false, false},
	{"presence", OpPresence, true, false, false, false},
	{"typing", OpTyping, true, false, false, false},
	{"ack", OpAck, true, false, false, false},
	{"dm", OpDM, false, true, true, false},
	{"read", OpRead, false, false, false, true},
	{"unread", OpUnread, false, false, false, false},
}

// String returns the op's wire name, or "unknown".
func (o Op) String() string {
	for _, e := range opTable {
		if e.op == o {
			return e.name
		}
	}
	return "unknown"
}

// ClientMessage is one decoded client request:
//
//	{"op":"pub","ch":"room:1","id":"7","data":{"text":"hi"}}
//
// Channel, Epoch and Since are set for ops on a channel, Data for pub, the
// other fields for every op. Token, Seq, Idem and Echo are decoded and
// checked but have no meaning yet. Strings and Data alias nothing of the
// input: they share one allocation made for the message, so keeping any of
// them keeps all of them alive; clone what is stored for long.
type ClientMessage struct {
	Op       Op
	Channel  string
	ID       string // at most MaxIDBytes; echoed in replies
	Epoch    string
	Since    uint64
	HasSince bool
	Data     []byte // compact JSON, never null; its capacity is its length
	Token    string // at most MaxTokenBytes
	Seq      uint64 // a position, as an ack names it
	HasSeq   bool
	Idem     string // idempotency key, at most MaxIdemBytes
	Echo     bool
	To       string // dm: the recipient's user id
	Conv     string // read: the conversation
}

// MessageLimits bound what DecodeClientMessage accepts beyond the fixed
// limits of the envelope. The zero value selects the defaults.
type MessageLimits struct {
	// MaxDepth bounds the nesting of arrays and objects in data and in
	// fields the server ignores; zero means DefaultMaxDepth.
	MaxDepth int
}

// ParseClientMessage decodes a client message with the default limits:
// MessageLimits{}.ParseClientMessage.
func ParseClientMessage(b []byte, m *ClientMessage) error {
	return MessageLimits{}.ParseClientMessage(b, m)
}

// ParseClientMessage decodes one client message, a JSON object, into m in
// one strict pass over b, without encoding/json. Known fields are picked
// as they go by and data is validated on the way (AppendCompactJSON's
// rules: valid UTF-8, nesting, number range), then kept compact in the
// message's one allocation.
//
// The rules, and the error for each:
//   - b must be exactly one JSON object with valid UTF-8 and nesting within
//     MaxDepth inside any field: ErrBadMessage, or the data error
//     ErrInvalidUTF8, ErrTooDeep or ErrNumberRange;
//   - keys match exactly (encoding/json also matched "OP" or "Op": one
//     spelling per field leaves nothing for two parsers to disagree on);
//     unknown keys are ignored, after their values are checked;
//   - a repeated key: the last one wins; null means the field is absent;
//   - op, ch, id, epoch, token, idem are strings; since and seq integers
//     in 0..2^64-1 (no sign, fraction or exponent); echo a boolean; a
//     value of another type: ErrBadMessage;
//   - id at most MaxIDBytes once unescaped: ErrBadID; token at most
//     MaxTokenBytes: ErrBadToken; idem at most MaxIdemBytes: ErrBadIdem;
//   - op one of opTable: ErrUnknownOp; ch a valid channel name for ops on
//     a channel: ErrBadChannel; data present and not null for pub:
//     ErrMissingData.
//
// On error m.ID is still set when the message carried a usable id (a
// string within MaxIDBytes, scanned before the error), so the error reply
// can name the request.
func (l MessageLimits) ParseClientMessage(b []byte, m *ClientMessage) error {
	*m = ClientMessage{}
	var f clientFields
	s := jsonScanner{src: b}
	err := f.scan(&s, clampDepth(l.MaxDepth))
	if err == nil && f.badType != 0 {
		err = ErrBadMessage
	}
	if err != nil {
		if f.id.set && unquotedLen(f.id.raw) <= MaxIDBytes {
			m.ID = string(appendUnquoted(nil, f.id.raw))
		}
		return err
	}
	return f.build(m)
}

// rawString is a string field as scanned: the bytes between its quotes,
// escapes not yet decoded.
type rawString struct {
	raw []byte
	set bool // present and not null
}

// Field indexes, for the badType bit set.
const (
	fieldOp = iota
	fieldCh
	fieldID
	fieldEpoch
	fieldToken
	fieldIdem
	fieldTo
	fieldConv
	fieldSince
	fieldSeq
	fieldEcho
	fieldData
	fieldUnknown
)

// clientFields is what one scan of a client message records.
type clientFields struct {
	op, ch, id, epoch, token, idem rawString
	to, conv                       rawString
	since, seq                     uint64
	hasSince, hasSeq, echo         bool
	data                           []byte // as written, white space included; nil: absent
	dataSpace                      int    // white space inside data
	badType                        uint16 // bit per field whose (last) value had the wrong type
}

// fieldOf maps a decoded key to its field.
func fieldOf(key []byte) int {
	switch string(key) {
	case "op":
		return fieldOp
	case "ch":
		return fieldCh
	case "id":
		return fieldID
	case "epoch":
		return fieldEpoch
	case "token":
		return fieldToken
	case "idem":
		return fieldIdem
	case "to":
		return fieldTo
	case "conv":
		return fieldConv
	case "since":
		return fieldSince
	case "seq":
		return fieldSeq
	case "echo":
		return fieldEcho
	case "data":
		return fieldData
	}
	return fieldUnknown
}

// scan walks the object, recording the known fields and checking every
// value.
//
//	object = ws "{" ws [ member *( ws "," ws member ) ] ws "}" ws
func (f *clientFields) scan(s *jsonScanner, maxDepth int) error {
	src := s.src
	i := s.space(0)
	if i >= len(src) || src[i] != '{' {
		return ErrBadMessage
	}
	if i = s.space(i + 1); i < len(src) && src[i] == '}' {
		i++
	} else {
		for {
			if i >= len(src) || src[i] != '"' {
				return ErrBadMessage
			}
			end, err := s.str(i)
			if err != nil {
				return syntaxIsBadMessage(err)
			}
			var kb [8]byte // every known key is shorter
			field := fieldUnknown
			if key := src[i+1 : end-1]; unquotedLen(key) <= len(kb) {
				field = fieldOf(appendUnquoted(kb[:0], key))
			}
			if i = s.space(end); i >= len(src) || src[i] != ':' {
				return ErrBadMessage
			}
			if i, err = f.value(s, field, s.space(i+1), maxDepth); err != nil {
				return syntaxIsBadMessage(err)
			}
			if i = s.space(i); i < len(src) && src[i] == ',' {
				i = s.space(i + 1)
				continue
			}
			if i >= len(src) || src[i] != '}' {
				return ErrBadMessage
			}
			i++
			break
		}
	}
	if s.space(i) != len(src) {
		return ErrBadMessage
	}
	return nil
}

// syntaxIsBadMessage reports a JSON syntax error in a client message as
// ErrBadMessage, as before; the other data errors say more and stay.
func syntaxIsBadMessage(err error) error {
	if err == ErrInvalidJSON {
		return ErrBadMessage
	}
	return err
}

// value scans the value of field at i (no white space before it) and
// records it; a value of the wrong type is checked, skipped and noted.
func (f *clientFields) value(s *jsonScanner, field, i, maxDepth int) (int, error) {
	src := s.src
	if i >= len(src) {
		return i, ErrInvalidJSON
	}
	bit := uint16(1) << field
	f.badType &^= bit
	c := src[i]
	switch field {
	case fieldOp, fieldCh, fieldID, fieldEpoch, fieldToken, fieldIdem, fieldTo, fieldConv:
		dst := [...]*rawString{fieldOp: &f.op, fieldCh: &f.ch, fieldID: &f.id,
			fieldEpoch: &f.epoch, fieldToken: &f.token, fieldIdem: &f.idem,
			fieldTo: &f.to, fieldConv: &f.conv}[field]
		*dst = rawString{}
		if c == '"' {
			end, err := s.str(i)
			if err == nil {
				*dst = rawString{raw: src[i+1 : end-1], set: true}
			}
			return end, err
		}
	case fieldSince, fieldSeq:
		v, has := &f.since, &f.hasSince
		if field == fieldSeq {
			v, has = &f.seq, &f.hasSeq
		}
		*v, *has = 0, false
		if c == '-' || isDigit(c) {
			end, err := s.number(i)
			if err != nil {
				return end, err
			}
			n, ok := parseUint64(src[i:end])
			if !ok {
				f.badType |= bit
			}
			*v, *has = n, ok
			return end, nil
		}
	case fieldEcho:
		f.echo = false
		if c == 't' || c == 'f' {
			end, err := s.value(i, maxDepth)
			f.echo = c == 't'
			return end, err
		}
	case fieldData:
		before := s.ws
		end, err := s.value(i, maxDepth)
		f.data, f.dataSpace = src[i:end], s.ws-before
		return end, err
	default:
		return s.value(i, maxDepth)
	}
	// null leaves the field absent; any other value is the wrong type.
	end, err := s.value(i, maxDepth)
	if err == nil && string(src[i:end]) != "null" {
		f.badType |= bit
	}
	return end, err
}

// parseUint64 parses a JSON number that must be a plain decimal integer in
// uint64 range, as encoding/json decodes one into a uint64.
func parseUint64(b []byte) (uint64, bool) {
	var n uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false // a sign, fraction or exponent
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// build checks the recorded fields against the op's needs and fills m,
// with one allocation holding every string and the data.
func (f *clientFields) build(m *ClientMessage) error {
	idLen, tokenLen, idemLen := unquotedLen(f.id.raw), unquotedLen(f.token.raw), unquotedLen(f.idem.raw)
	if idLen > MaxIDBytes {
		return ErrBadID
	}
	err := error(nil)
	var name [8]byte
	op := -1
	switch {
	case tokenLen > MaxTokenBytes:
		err = ErrBadToken
	case idemLen > MaxIdemBytes:
		err = ErrBadIdem
	case unquotedLen(f.op.raw) <= len(name):
		opName := appendUnquoted(name[:0], f.op.raw)
		for k := range opTable {
			if f.op.set && string(opName) == opTable[k].name {
				op = k
			}
		}
	}
	if err == nil && op < 0 {
		err = ErrUnknownOp
	}
	var ch [MaxChannelBytes]byte
	chLen, epochLen, dataLen := 0, 0, 0
	if err == nil && opTable[op].channel {
		chLen = unquotedLen(f.ch.raw)
		if chLen > MaxChannelBytes || !ValidChannel(appendUnquoted(ch[:0], f.ch.raw)) {
			err = ErrBadChannel
		}
		epochLen = unquotedLen(f.epoch.raw)
	}
	toLen, convLen := 0, 0
	if err == nil && opTable[op].to {
		toLen = unquotedLen(f.to.raw)
		if toLen > MaxUserBytes || !ValidChannel(appendUnquoted(ch[:0], f.to.raw)) {
			err = ErrBadTo
		}
	}
	if err == nil && opTable[op].conv {
		convLen = unquotedLen(f.conv.raw)
		switch {
		case convLen > MaxChannelBytes || !ValidChannel(appendUnquoted(ch[:0], f.conv.raw)):
			err = ErrBadConv
		case !f.hasSeq:
			err = ErrMissingSeq
		}
	}
	if err == nil && opTable[op].data {
		if f.data == nil || string(f.data) == "null" {
			err = ErrMissingData
		}
		dataLen = len(f.data) - f.dataSpace
	}
	if err != nil {
		if f.id.set {
			m.ID = string(appendUnquoted(nil, f.id.raw))
		}
		return err
	}

	e := &opTable[op]
	m.Op, m.Seq, m.HasSeq, m.Echo = e.op, f.seq, f.hasSeq, f.echo
	if e.channel {
		m.Since, m.HasSince = f.since, f.hasSince
	}
	total := idLen + tokenLen + idemLen + chLen + epochLen + dataLen + toLen + convLen
	if total == 0 {
		return nil
	}
	buf := make([]byte, 0, total)
	m.ID, buf = takeString(buf, f.id.raw)
	m.Token, buf = takeString(buf, f.token.raw)
	m.Idem, buf = takeString(buf, f.idem.raw)
	if e.channel {
		m.Channel, buf = takeString(buf, f.ch.raw)
		m.Epoch, buf = takeString(buf, f.epoch.raw)
	}
	if e.to {
		m.To, buf = takeString(buf, f.to.raw)
	}
	if e.conv {
		m.Conv, buf = takeString(buf, f.conv.raw)
	}
	if e.data {
		start := len(buf)
		if f.dataSpace == 0 {
			buf = append(buf, f.data...)
		} else {
			buf = appendStripped(buf, f.data)
		}
		m.Data = buf[start:len(buf):len(buf)]
	}
	return nil
}

// takeString appends the decoded string raw to buf, which has the capacity
// for it, and returns it as a string sharing buf's memory. buf is never
// written again below len(buf), so the string stays immutable.
func takeString(buf, raw []byte) (string, []byte) {
	start := len(buf)
	buf = appendUnquoted(buf, raw)
	if len(buf) == start {
		return "", buf
	}
	return unsafe.String(&buf[start], len(buf)-start), buf
}

// appendStripped appends the JSON value v, already checked, without the
// white space between its tokens.
func appendStripped(dst, v []byte) []byte {
	inString, escaped := false, false
	mark := 0
	for i, c := range v {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case isJSONSpace(c):
			dst = append(dst, v[mark:i]...)
			mark = i + 1
		}
	}
	return append(dst, v[mark:]...)
}

// unescapeU decodes the \uXXXX escape at raw[i:] (checked by str), joining
// a surrogate pair, and returns the rune and the index after it. A lone or
// mismatched surrogate becomes U+FFFD, as encoding/json decodes it.
func unescapeU(raw []byte, i int) (rune, int) {
	r := hex4(raw[i+2:])
	i += 6
	if utf16.IsSurrogate(r) {
		r2 := rune(-1)
		if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
			r2 = hex4(raw[i+2:])
		}
		if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
			return dec, i + 6
		}
		return utf8.RuneError, i
	}
	return r, i
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		v, _ := hexValue(c)
		r = r<<4 | v
	}
	return r
}

// appendUnquoted appends the string raw (the checked bytes between the
// quotes of a JSON string) with its escapes decoded.
func appendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+j]...)
		i += j
		var c byte
		switch raw[i+1] {
		case 'u':
			var r rune
			r, i = unescapeU(raw, i)
			dst = utf8.AppendRune(dst, r)
			continue
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default: // '"', '\\', '/'
			c = raw[i+1]
		}
		dst = append(dst, c)
		i += 2
	}
	return dst
}

// unquotedLen returns len(appendUnquoted(nil, raw)) without decoding.
func unquotedLen(raw []byte) int {
	n := 0
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return n + len(raw) - i
		}
		n += j
		i += j
		if raw[i+1] != 'u' {
			n++
			i += 2
			continue
		}
		var r rune
		r, i = unescapeU(raw, i)
		n += utf8.RuneLen(r)
	}
	return n
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

// AppendMsg appends a delivery:
// {"op":"msg","ch":…,"seq":…,"ts":…,"from":…,"conv":…,"data":…}, with from
// and conv only when set. ch and conv must be valid channel names, from a
// user id, data compact JSON: nothing is escaped.
func AppendMsg(dst []byte, ch string, seq uint64, ts int64, from, conv string, data []byte) []byte {
	dst = append(dst, `{"op":"msg","ch":"`...)
	dst = append(dst, ch...)
	dst = append(dst, `","seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	if from != "" {
		// User ids are channel bytes (auth.ValidUserID): nothing to escape.
		dst = append(dst, `,"from":"`...)
		dst = append(dst, from...)
		dst = append(dst, '"')
	}
	if conv != "" {
		dst = append(dst, `,"conv":"`...)
		dst = append(dst, conv...)
		dst = append(dst, '"')
	}
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
	Missed    uint64 // not recovered: how many history no longer holds (Recovery.Missed)
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
		if !r.Recovered && r.Missed > 0 {
			dst = append(dst, `,"missed":`...)
			dst = strconv.AppendUint(dst, r.Missed, 10)
		}
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
