package auth

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// hookCache remembers successful hook answers for a while, keyed by what
// the hook forwards (the configured headers and cookies), so that an HTTP
// poller that comes back every few seconds with the same session cookie
// is not a backend call each time. It is bounded: when full, the oldest
// insertion goes.
type hookCache struct {
	ttl  time.Duration
	mu   sync.Mutex
	m    map[[32]byte]cacheEntry
	ring [][32]byte // insertion order, len(ring) == size
	gens []uint64   // the generation each ring slot inserted
	head int        // oldest slot
	used int        // slots in use
	gen  uint64
}

type cacheEntry struct {
	id      Identity
	expires time.Time
	gen     uint64
}

func newHookCache(ttl time.Duration, size int) *hookCache {
	return &hookCache{ttl: ttl, m: make(map[[32]byte]cacheEntry), ring: make([][32]byte, size), gens: make([]uint64, size)}
}

// cacheKey hashes what the hook forwards of r. A separator byte that
// cannot appear in a header value or a cookie keeps two different requests
// from hashing the same bytes. ok is false when r forwards nothing: the
// backend then decides from what is not in the key (the remote address),
// and the answer must not be shared.
func (h *Hook) cacheKey(r HookRequest) (k [32]byte, ok bool) {
	d := sha256.New()
	for _, name := range h.headers {
		v := r.Header.Get(name)
		ok = ok || v != ""
		d.Write([]byte(name))
		d.Write([]byte{0})
		d.Write([]byte(v))
		d.Write([]byte{0})
	}
	d.Write([]byte{1})
	seen := map[string]bool{}
	for rest := r.Cookie; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, ";")
		name, value, found := strings.Cut(strings.TrimSpace(pair), "=")
		if !found || !h.cookies[name] || seen[name] {
			continue
		}
		seen[name], ok = true, true
		d.Write([]byte(name))
		d.Write([]byte{0})
		d.Write([]byte(value))
		d.Write([]byte{0})
	}
	d.Sum(k[:0])
	return k, ok
}

func (c *hookCache) get(k [32]byte, now time.Time) (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return Identity{}, false
	}
	if !now.Before(e.expires) {
		delete(c.m, k)
		return Identity{}, false
	}
	return e.id, true
}

// put caches id until the cache's ttl or the identity's own expiry,
// whichever comes first.
func (c *hookCache) put(k [32]byte, id Identity, now time.Time) {
	expires := now.Add(c.ttl)
	if !id.Expiry.IsZero() && id.Expiry.Before(expires) {
		expires = id.Expiry
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if c.used == len(c.ring) {
		old := c.ring[c.head]
		if e, ok := c.m[old]; ok && e.gen == c.gens[c.head] {
			delete(c.m, old)
		}
		c.head = (c.head + 1) % len(c.ring)
		c.used--
	}
	slot := (c.head + c.used) % len(c.ring)
	c.ring[slot], c.gens[slot] = k, c.gen
	c.used++
	c.m[k] = cacheEntry{id: id, expires: expires, gen: c.gen}
}

func (c *hookCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
