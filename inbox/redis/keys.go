package redis

import "strings"

// Key layout (docs/REDIS.md, "The inbox on Redis"). Every key of one user
// carries the user id as its hash tag, so in Redis Cluster one script can
// touch all of them (one slot):
//
//	{prefix}inbox:{user}:m   meta hash: e epoch (decimal), s state (64 bytes), " "+conversation -> its record (40 bytes)
//	{prefix}inbox:{user}:l   the log: a list, the entry of seq s at index s-oldest
//	{prefix}inbox:{user}:d   devices hash: device -> acked, last seen, created (24 bytes)
//	{prefix}inbox:{user}:z   conversation ids, a sorted set (score 0) for paging by id
//	{prefix}inbox:{user}:x   unread index, a sorted set (score 0): "conversation seq" of each unread entry
//	{prefix}inbox:{user}:k   idempotency hash: "from key" -> seq, time (16 bytes)
//	{prefix}inbox:{user}:q   idempotency times, a sorted set: "from key" by time
//	{prefix}inbox:users      the users index, a sorted set (score 0) for paging by id
//	{prefix}inbox:sweep      the lease of the background sweep's round
//
// Records are 8-byte big-endian integers (record.go). User ids are of the
// id set, which holds no brace: the tag ends where the id ends, with no
// escaping. The Redis broker's channel keys continue the prefix with "{",
// so they never meet these.

// keyLetters are the suffixes of a user's keys, in the order the scripts
// take them (common.lua, keysOf).
const keyLetters = "mldzxkq"

// keysPerUser is how many keys of one user a script takes.
const keysPerUser = len(keyLetters)

// userKeys appends the keys of each user to dst: the bytes of all of them
// in one allocation, which the strings share.
func (s *Store) userKeys(dst []string, users ...string) []string {
	n := 0
	for _, u := range users {
		n += keysPerUser * (len(s.prefix) + len(u) + 4)
	}
	var b strings.Builder
	b.Grow(n)
	for _, u := range users {
		for i := 0; i < keysPerUser; i++ {
			b.WriteString(s.prefix)
			b.WriteByte('{')
			b.WriteString(u)
			b.WriteString("}:")
			b.WriteByte(keyLetters[i])
		}
	}
	// The builder did not grow past n, so the string is the one
	// allocation, and slicing it copies nothing.
	all := b.String()
	off := 0
	for _, u := range users {
		l := len(s.prefix) + len(u) + 4
		for range keysPerUser {
			dst = append(dst, all[off:off+l])
			off += l
		}
	}
	return dst
}

// Positions of a user's keys among its keysPerUser.
const (
	keyMeta = iota
	keyLog
	keyDevices
	keyConvIDs
)
