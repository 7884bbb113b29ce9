package inbox

import (
	"encoding/binary"
	"math"
)

// The store's layout, in bbolt terms (docs/INBOX.md draws it):
//
//	users/<user>/          one bucket per user, so each log is its own
//	                       B+tree, only ever appended to at its end
//	  m                    the meta record (metaRecord)
//	  l/<seq>              the log: 8-byte big-endian seq -> entry
//	  d/<device>           delivery positions
//	  c/<conversation>     read markers and counters
//	  x/<conv-index key>   conversation, seq -> 1 byte (own message or not)
//	  k/<idempotency key>  from, key -> time and seq
//	expiry/<expiry key>    time, user, from, key: idempotency records by age
//	format/v               the layout's version
//
// Composite keys prefix each string with its length in one byte (ids are
// at most 128 bytes), so that no key is a prefix of another's string part,
// and end with fixed-width big-endian numbers, so that byte order is
// number order within one string prefix.
var (
	usersBucket     = []byte("users")
	expiryBucket    = []byte("expiry")
	formatBucket    = []byte("format")
	metaKey         = []byte("m")
	logBucket       = []byte("l")
	deviceBucket    = []byte("d")
	convBucket      = []byte("c")
	convIndexBucket = []byte("x")
	idemBucket      = []byte("k")
	formatKey       = []byte("v")
)

// appendSeqKey appends a log key: the seq, 8 bytes big-endian.
func appendSeqKey(dst []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, seq)
}

func parseSeqKey(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// appendString appends s prefixed with its length; s is at most 255 bytes
// (the limits keep every id well below).
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	return append(append(dst, byte(len(s))), s...)
}

// parseString splits a length-prefixed string off b.
func parseString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 1 || len(b)-1 < int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0])
	return b[1 : 1+n], b[1+n:], true
}

// appendConvIndexPrefix appends the prefix shared by all of one
// conversation's index keys.
func appendConvIndexPrefix[S ~string | ~[]byte](dst []byte, conv S) []byte {
	return appendString(dst, conv)
}

// appendConvIndexKey appends a conversation index key: the conversation,
// then the seq.
func appendConvIndexKey[S ~string | ~[]byte](dst []byte, conv S, seq uint64) []byte {
	return appendSeqKey(appendString(dst, conv), seq)
}

func parseConvIndexKey(b []byte) (conv []byte, seq uint64, ok bool) {
	conv, rest, ok := parseString(b)
	if !ok {
		return nil, 0, false
	}
	seq, ok = parseSeqKey(rest)
	return conv, seq, ok
}

// appendIdemKey appends an idempotency record's key: the sender, then the
// key.
func appendIdemKey(dst []byte, from, key string) []byte {
	return appendString(appendString(dst, from), key)
}

func parseIdemKey(b []byte) (from, key []byte, ok bool) {
	from, rest, ok := parseString(b)
	if !ok {
		return nil, nil, false
	}
	key, rest, ok = parseString(rest)
	if !ok || len(rest) != 0 {
		return nil, nil, false
	}
	return from, key, true
}

// appendExpiryKey appends an expiry index key: the record's time (so that
// the index is in age order), the user, then the record's idempotency key.
func appendExpiryKey(dst []byte, at int64, user, from, key string) []byte {
	dst = appendTime(dst, at)
	return appendIdemKey(appendString(dst, user), from, key)
}

func parseExpiryKey(b []byte) (at int64, user, idem []byte, ok bool) {
	if len(b) < 8 {
		return 0, nil, nil, false
	}
	at = parseTime(b)
	user, idem, ok = parseString(b[8:])
	if !ok {
		return 0, nil, nil, false
	}
	if _, _, ok := parseIdemKey(idem); !ok {
		return 0, nil, nil, false
	}
	return at, user, idem, true
}

// appendTime appends Unix nanoseconds with the sign bit flipped, so that
// byte order is time order across zero too.
func appendTime(dst []byte, ns int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(ns)^(1<<63))
}

func parseTime(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// minTime is the smallest time appendTime encodes.
const minTime = math.MinInt64
