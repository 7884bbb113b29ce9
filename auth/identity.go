package auth

import (
	"encoding/json"
	"strings"
	"time"
)

// Identity is who a connection is: the result of a verified connection
// token, a connect hook's answer, or the anonymous identity.
type Identity struct {
	// User is the user id (the token's sub): 1 to MaxUserIDBytes safe
	// channel bytes (ValidUserID). "" only for the anonymous identity.
	User string
	// Client is the device or client id (the token's client claim), ""
	// when the token names none. Same bytes and bound as User.
	Client string
	// Expiry is when the credentials stop being valid; the server closes
	// (or asks for a refresh) then. The zero time means never: a token
	// without exp where VerifierConfig.ExpiryOptional allows it, or a hook
	// answer without expire_at.
	Expiry time.Time
	// Grants are the channels the credentials open beyond what the
	// namespaces allow everyone.
	Grants Grants
	// Info is a compact JSON object the backend attached (the token's info
	// claim, the hook's info), for presence; nil when none. Bounded by the
	// verifier's or the hook's MaxInfoBytes.
	Info json.RawMessage
}

// Anonymous reports whether id is the anonymous identity. A nil id is
// anonymous.
func (id *Identity) Anonymous() bool { return id == nil || id.User == "" }

// Expired reports whether the credentials have expired at now.
func (id *Identity) Expired(now time.Time) bool {
	return id != nil && !id.Expiry.IsZero() && !now.Before(id.Expiry)
}

// Grants are channel patterns per operation. A pattern is an exact channel
// name ("room:42") or a prefix followed by one '*' ("room:*" opens every
// channel whose name starts with "room:"). A bare "*" is refused: a grant
// names what it opens.
type Grants struct {
	Subscribe []string `json:"subscribe,omitempty"`
	Publish   []string `json:"publish,omitempty"`
	Presence  []string `json:"presence,omitempty"`
}

func (g *Grants) count() int { return len(g.Subscribe) + len(g.Publish) + len(g.Presence) }

// MatchGrant reports whether any pattern in patterns opens channel.
func MatchGrant(patterns []string, channel string) bool {
	for _, p := range patterns {
		if n := len(p) - 1; n > 0 && p[n] == '*' {
			if strings.HasPrefix(channel, p[:n]) {
				return true
			}
		} else if p == channel {
			return true
		}
	}
	return false
}

// Name bounds. Channel names follow docs/PROTOCOL.md.
const (
	MaxUserIDBytes  = 64
	MaxChannelBytes = 128
)

// safeByte is the channel byte set of docs/PROTOCOL.md:
// [A-Za-z0-9_:.@/=+#-]. It needs no escaping in JSON, HTML, URLs or SSE,
// which is why user ids, which become channel names, are held to it too.
// Package protocol has the same table; this package may not import it.
var safeByte = func() (t [256]bool) {
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

func safeName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !safeByte[s[i]] {
			return false
		}
	}
	return true
}

// ValidUserID reports whether s may be a user or client id: 1 to
// MaxUserIDBytes bytes of [A-Za-z0-9_:.@/=+#-].
func ValidUserID(s string) bool { return safeName(s, MaxUserIDBytes) }

// validChannel reports whether s is a channel name of docs/PROTOCOL.md.
func validChannel(s string) bool { return safeName(s, MaxChannelBytes) }

// validPattern reports whether p is a grant pattern: a channel name, or a
// non-empty channel-name prefix followed by '*'.
func validPattern(p string) bool {
	if n := len(p) - 1; n >= 0 && p[n] == '*' {
		return n > 0 && safeName(p[:n], MaxChannelBytes)
	}
	return validChannel(p)
}
