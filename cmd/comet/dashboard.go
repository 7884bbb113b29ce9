package main

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/golang-jwt/jwt/v5"
)

// The dashboard's feed is a channel on the public port, in a namespace of
// the node's own (dashPrefix) that no client may publish to and only a
// grant opens. The grant is in a connection token that the admin listener
// mints for the page with a key made at start and never written down
// (dashIssuer): only whoever may use the admin listener can read the
// feed. On a node with -auth open there are no permissions at all, so the
// feed is off unless admin-dashboard is "on", and then anyone who can
// reach the public port can read it (the log says so at start).

const (
	// dashPrefix is the namespace of the node's own channels.
	dashPrefix = "_comet:"
	// dashKeyID is the kid of the dashboard's tokens.
	dashKeyID = "comet-dashboard"
	// dashAlgorithm signs them.
	dashAlgorithm = "HS256"
	// dashUser is who the dashboard's tokens are for.
	dashUser = "comet-dashboard"
	// dashTokenTTL is their lifetime; the page fetches a new one before.
	dashTokenTTL = 10 * time.Minute
)

// dashIssuer mints the dashboard page's connection tokens.
type dashIssuer struct {
	secret  []byte
	channel string

	mu       sync.Mutex
	issuer   string // the configured jwt-issuer and -audience, which
	audience string // the verifier requires of every token
}

// newDashIssuer makes a fresh key and a channel name unique to this
// process, so that in a cluster each node's feed is its own.
func newDashIssuer() *dashIssuer {
	d := &dashIssuer{secret: make([]byte, 32)}
	_, _ = rand.Read(d.secret) // crypto/rand.Read never fails (Go 1.24+)
	var id [4]byte
	_, _ = rand.Read(id[:])
	d.channel = dashPrefix + "stats:" + hex.EncodeToString(id[:])
	return d
}

// newDashChannel names the feed's channel when there is no issuer (an
// open node).
func newDashChannel() string { return newDashIssuer().channel }

// namespace is the feed's namespace: subscribe by grant, no client
// publishes.
func (d *dashIssuer) namespace() auth.Namespace {
	return auth.Namespace{Prefix: dashPrefix, Subscribe: auth.RuleGrant, Publish: auth.RuleNobody}
}

// key is the verification key of the dashboard's tokens.
func (d *dashIssuer) key() auth.Key {
	return auth.Key{ID: dashKeyID, Algorithm: dashAlgorithm, Secret: append([]byte(nil), d.secret...)}
}

func (d *dashIssuer) setClaims(issuer, audience string) {
	d.mu.Lock()
	d.issuer, d.audience = issuer, audience
	d.mu.Unlock()
}

// issue mints a token that may subscribe to the feed's channel and
// nothing else.
func (d *dashIssuer) issue() (string, time.Time, error) {
	now := time.Now()
	exp := now.Add(dashTokenTTL).Truncate(time.Second)
	claims := jwt.MapClaims{
		"sub":    dashUser,
		"iat":    now.Unix(),
		"exp":    exp.Unix(),
		"grants": map[string]any{"subscribe": []string{d.channel}},
	}
	d.mu.Lock()
	if d.issuer != "" {
		claims["iss"] = d.issuer
	}
	if d.audience != "" {
		claims["aud"] = d.audience
	}
	d.mu.Unlock()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = dashKeyID
	s, err := t.SignedString(d.secret)
	return s, exp, err
}
