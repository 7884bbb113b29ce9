package redis

import (
	"errors"
	"strings"
	"unsafe"
)

// Key layout (see docs/REDIS.md). Every key of one channel carries the
// channel's name as its hash tag, so in Redis Cluster one script call can
// touch all of them (they share a slot), and the pub/sub topic hashes to
// the same slot (a script may SPUBLISH only to its own slot):
//
//	{prefix}{channel}:m          meta hash: e epoch, s top seq, c created ms, t last publish ms, l history ttl ms
//	{prefix}{channel}:s          history stream, entry id "seq-0", fields t (ms) and d (encoded publication)
//	{prefix}{channel}:i:{key}    idempotency result "seq:ms:epoch", PX the idempotency window
//	{prefix}{channel}:p          pub/sub topic (PUBLISH or SPUBLISH)
//	{prefix}{channel}:ph         presence hash: conn -> encoded info
//	{prefix}{channel}:pz         presence zset: conn -> expiry ms
//	{prefix}{channel}:pu         presence users hash: user -> connections
//
// {prefix}inbox:... is reserved for the per-user inbox. A channel name
// cannot reach into it: channel keys always continue the prefix with "{".
//
// Inside the braces the name is escaped: '%' becomes "%25" and '}' becomes
// "%7D", so the tag ends exactly where the name ends and no two channels
// share a key. Names Comet accepts need no escaping.

// Key suffixes.
const (
	sufMeta     = ":m"
	sufStream   = ":s"
	sufIdem     = ":i:"
	sufTopic    = ":p"
	sufPresHash = ":ph"
	sufPresZset = ":pz"
	sufPresUser = ":pu"
)

var errEmptyChannel = errors.New("redis: empty channel name")

// maxIdempotencyKey bounds the part of a key an idempotency key may take;
// longer ones are replaced by their hash.
const maxIdempotencyKey = 128

// escapeName appends the escaped channel name to dst.
func escapeName(dst []byte, name string) []byte {
	if !strings.ContainsAny(name, "%}") {
		return append(dst, name...)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '%':
			dst = append(dst, "%25"...)
		case '}':
			dst = append(dst, "%7D"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// unescapeName reverses escapeName; it returns s itself (no copy) when
// nothing was escaped.
func unescapeName(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			switch s[i+1 : i+3] {
			case "25":
				b = append(b, '%')
				i += 2
				continue
			case "7D":
				b = append(b, '}')
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

// channelKeys are the keys and topic of one channel, sliced out of one
// allocation, which Publish extends with its other strings.
type channelKeys struct {
	meta, stream, topic, idem string
	tag                       string // the escaped name: what the slot is computed from
	buf                       []byte // the backing array, with the spare room asked for
}

// keysFor builds the keys of channel; idem is the idempotency key ("" for
// none). extra is room to leave in buf for the caller's appends.
func (b *Broker) keysFor(channel, idem string, extra int) (channelKeys, error) {
	if channel == "" {
		return channelKeys{}, errEmptyChannel
	}
	if len(idem) > maxIdempotencyKey {
		idem = hashKey(idem)
	}
	p := b.cfg.Prefix
	// Escaping at most triples the name; four copies of prefix{name}.
	n := 4*(len(p)+2+3*len(channel)) + len(sufMeta) + len(sufStream) + len(sufTopic) + len(sufIdem) + len(idem)
	buf := make([]byte, 0, n+extra)
	buf = append(buf, p...)
	buf = append(buf, '{')
	tagStart := len(buf)
	buf = escapeName(buf, channel)
	tagEnd := len(buf)
	buf = append(buf, '}')
	base := len(buf) // prefix{name}
	buf = append(buf, sufMeta...)
	metaEnd := len(buf)
	buf = append(buf, buf[:base]...)
	buf = append(buf, sufStream...)
	streamEnd := len(buf)
	buf = append(buf, buf[:base]...)
	buf = append(buf, sufTopic...)
	topicEnd := len(buf)
	idemEnd := topicEnd
	if idem != "" {
		buf = append(buf, buf[:base]...)
		buf = append(buf, sufIdem...)
		buf = append(buf, idem...)
		idemEnd = len(buf)
	}
	// The strings view buf. Callers only append past its length, so the
	// bytes under them never change (if an append outgrew the capacity,
	// they would keep viewing the old array, unchanged too).
	s := unsafe.String(unsafe.SliceData(buf), len(buf))
	k := channelKeys{
		tag:    s[tagStart:tagEnd],
		meta:   s[:metaEnd],
		stream: s[metaEnd:streamEnd],
		topic:  s[streamEnd:topicEnd],
		buf:    buf,
	}
	if idem != "" {
		k.idem = s[topicEnd:idemEnd]
	}
	return k, nil
}

// presenceKeys are the three presence keys of channel.
func (b *Broker) presenceKeys(channel string) ([]string, error) {
	if channel == "" {
		return nil, errEmptyChannel
	}
	base := make([]byte, 0, len(b.cfg.Prefix)+len(channel)+2)
	base = append(base, b.cfg.Prefix...)
	base = append(base, '{')
	base = escapeName(base, channel)
	base = append(base, '}')
	return []string{
		string(base) + sufPresHash,
		string(base) + sufPresZset,
		string(base) + sufPresUser,
	}, nil
}

// channelOfTopic returns the channel name of a pub/sub topic of ours, or
// false. The result aliases topic when the name needed no escaping.
func (b *Broker) channelOfTopic(topic string) (string, bool) {
	p := b.cfg.Prefix
	if len(topic) < len(p)+2+len(sufTopic)+1 || topic[:len(p)] != p || topic[len(p)] != '{' ||
		!strings.HasSuffix(topic, "}"+sufTopic) {
		return "", false
	}
	return unescapeName(topic[len(p)+1 : len(topic)-len(sufTopic)-1]), true
}

// topicOf returns channel's pub/sub topic and its hash tag.
func (b *Broker) topicOf(channel string) (topic, tag string) {
	buf := make([]byte, 0, len(b.cfg.Prefix)+len(channel)+2+len(sufTopic))
	buf = append(buf, b.cfg.Prefix...)
	buf = append(buf, '{')
	buf = escapeName(buf, channel)
	tagEnd := len(buf)
	buf = append(buf, '}')
	buf = append(buf, sufTopic...)
	s := string(buf)
	return s, s[len(b.cfg.Prefix)+1 : tagEnd]
}
