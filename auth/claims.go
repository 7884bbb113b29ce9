package auth

import (
	"bytes"
	"encoding/json"

	"github.com/golang-jwt/jwt/v5"
)

// connectionClaims are the claims of a connection token (docs/AUTH.md
// "Connection tokens"). Unknown claims are ignored.
type connectionClaims struct {
	jwt.RegisteredClaims
	Client   string          `json:"client,omitempty"`
	Info     json.RawMessage `json:"info,omitempty"`
	Channels []string        `json:"channels,omitempty"`
	Grants   *Grants         `json:"grants,omitempty"`
	// Channel marks a subscription token; a connection token must not
	// have it, so that one kind of token cannot pass for the other.
	Channel *string `json:"channel,omitempty"`
}

// subscriptionClaims are the claims of a subscription token.
type subscriptionClaims struct {
	jwt.RegisteredClaims
	Channel *string `json:"channel,omitempty"`
	Publish bool    `json:"publish,omitempty"`
}

// limits bound what credentials may carry, from a token or a hook answer.
type limits struct {
	maxInfo   int
	maxGrants int
}

// Defaults of the limits, shared by VerifierConfig and HookConfig.
const (
	DefaultMaxInfoBytes = 1024
	DefaultMaxGrants    = 64
)

// identityFields validates what a token or a hook answer says about a
// connection and builds the Identity from it. channels are subscribe
// grants (the shorthand claim); grants may be nil. kind is the error kind
// a violation is reported as: ErrInvalid for a token, ErrUnavailable for a
// hook (a bad answer is the backend's fault, not the client's).
func (l limits) identity(kind error, user, client string, info json.RawMessage, channels []string, grants *Grants) (Identity, *Error) {
	if user == "" {
		return Identity{}, fail(kind, "no user", nil)
	}
	if !ValidUserID(user) {
		return Identity{}, fail(kind, "bad user id", nil)
	}
	if client != "" && !ValidUserID(client) {
		return Identity{}, fail(kind, "bad client id", nil)
	}
	id := Identity{User: user, Client: client}
	if grants != nil {
		id.Grants = *grants
	}
	if len(channels) > 0 {
		id.Grants.Subscribe = append(channels, id.Grants.Subscribe...)
	}
	if id.Grants.count() > l.maxGrants {
		return Identity{}, fail(kind, "too many grants", nil)
	}
	for _, list := range [...][]string{id.Grants.Subscribe, id.Grants.Publish, id.Grants.Presence} {
		for _, p := range list {
			if !validPattern(p) {
				return Identity{}, fail(kind, "bad grant", nil)
			}
		}
	}
	var err *Error
	if id.Info, err = l.compactInfo(kind, info); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// compactInfo checks that info is absent, null, or a JSON object of at
// most maxInfo bytes once compacted, and returns it compacted (nil for
// absent or null), so that the server can embed it in presence as is.
func (l limits) compactInfo(kind error, info json.RawMessage) (json.RawMessage, *Error) {
	info = bytes.TrimSpace(info)
	if len(info) == 0 || string(info) == "null" {
		return nil, nil
	}
	if info[0] != '{' {
		return nil, fail(kind, "info is not an object", nil)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, info); err != nil {
		return nil, fail(kind, "bad info", err)
	}
	if b.Len() > l.maxInfo {
		return nil, fail(kind, "info too large", nil)
	}
	return b.Bytes(), nil
}
