package redis

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"unsafe"

	"github.com/comet-im/comet/broker"
)

// A publication is stored (stream field d) and published (after a header)
// as one blob that Lua never parses:
//
//	flags byte            bit 0: a publisher follows; bit 1: a conversation follows
//	[uvarint len, user] [uvarint len, client] [uvarint len, conn]   when bit 0
//	[uvarint len, conversation]                                      when bit 1
//	data                  the rest
//
// The pub/sub message is "seq:epoch:ms:" followed by the blob (seq 0 for
// an ephemeral publication, epoch "" when the channel has no stream).

const (
	flagPublisher    = 1
	flagConversation = 2
)

var errBadPayload = errors.New("redis: malformed publication")

// appendBlob appends the encoded publication to dst.
func appendBlob(dst []byte, data []byte, pub *broker.ClientInfo, conv string) []byte {
	var flags byte
	if pub != nil {
		flags |= flagPublisher
	}
	if conv != "" {
		flags |= flagConversation
	}
	dst = append(dst, flags)
	if pub != nil {
		for _, s := range [...]string{pub.User, pub.Client, pub.Conn} {
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
	}
	if conv != "" {
		dst = binary.AppendUvarint(dst, uint64(len(conv)))
		dst = append(dst, conv...)
	}
	return append(dst, data...)
}

func blobLen(data []byte, pub *broker.ClientInfo, conv string) int {
	n := 1 + len(data)
	if pub != nil {
		n += 3*binary.MaxVarintLen32 + len(pub.User) + len(pub.Client) + len(pub.Conn)
	}
	if conv != "" {
		n += binary.MaxVarintLen32 + len(conv)
	}
	return n
}

// field reads one uvarint-prefixed string off rest.
func field(rest string) (f, after string, ok bool) {
	n, w := binary.Uvarint(bytesOf(rest))
	if w <= 0 || n > uint64(len(rest)-w) {
		return "", rest, false
	}
	return rest[w : w+int(n)], rest[w+int(n):], true
}

// decodeBlob fills p's Data and Publisher from blob. Data and the
// publisher's strings alias blob, which must never change: Redis replies
// arrive as fresh immutable strings, and a Publication is immutable.
func decodeBlob(blob string, p *broker.Publication) error {
	if blob == "" {
		return errBadPayload
	}
	flags, rest := blob[0], blob[1:]
	if flags&^(flagPublisher|flagConversation) != 0 {
		return errBadPayload
	}
	var ok bool
	if flags&flagPublisher != 0 {
		var f [3]string
		for i := range f {
			if f[i], rest, ok = field(rest); !ok {
				return errBadPayload
			}
		}
		p.Publisher = &broker.ClientInfo{User: f[0], Client: f[1], Conn: f[2]}
	}
	if flags&flagConversation != 0 {
		if p.Conversation, rest, ok = field(rest); !ok {
			return errBadPayload
		}
	}
	p.Data = bytesOf(rest)
	return nil
}

// parseMessage decodes a pub/sub message of channel into a Publication.
func parseMessage(channel, msg string) (*broker.Publication, error) {
	p := &broker.Publication{Channel: channel}
	var f [3]string
	for i := range f {
		j := strings.IndexByte(msg, ':')
		if j < 0 {
			return nil, errBadPayload
		}
		f[i], msg = msg[:j], msg[j+1:]
	}
	var err1, err2 error
	p.Seq, err1 = strconv.ParseUint(f[0], 10, 64)
	p.Epoch = f[1]
	p.Time, err2 = strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, errBadPayload
	}
	if err := decodeBlob(msg, p); err != nil {
		return nil, err
	}
	return p, nil
}

// bytesOf views s as bytes without copying; the bytes must not be
// written.
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf views b as a string without copying; b must not change while
// the string is in use.
func stringOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Presence entries are stored as "len:user" + "len:client" +
// "len:transport" + since (decimal): the user comes first, length-prefixed,
// so the scripts can read it to count distinct users.

func appendPresence(dst []byte, info broker.PresenceInfo) []byte {
	for _, s := range [...]string{info.User, info.Client, info.Transport} {
		dst = strconv.AppendInt(dst, int64(len(s)), 10)
		dst = append(dst, ':')
		dst = append(dst, s...)
	}
	return strconv.AppendInt(dst, info.Since, 10)
}

func decodePresence(conn, v string) (broker.PresenceInfo, error) {
	info := broker.PresenceInfo{}
	info.Conn = conn
	var f [3]string
	for i := range f {
		j := strings.IndexByte(v, ':')
		if j < 0 {
			return info, errBadPayload
		}
		n, err := strconv.Atoi(v[:j])
		if err != nil || n < 0 || n > len(v)-j-1 {
			return info, errBadPayload
		}
		f[i], v = v[j+1:j+1+n], v[j+1+n:]
	}
	since, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return info, errBadPayload
	}
	info.User, info.Client, info.Transport, info.Since = f[0], f[1], f[2], since
	return info, nil
}
