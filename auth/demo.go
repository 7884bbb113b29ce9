package auth

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DemoKeyID is the kid of the demo issuer's tokens.
const DemoKeyID = "comet-demo"

// DemoConfig configures a DemoIssuer.
type DemoConfig struct {
	// TTL is the lifetime of a token. Zero means 1 hour; at most 24 hours.
	TTL time.Duration
	// Grants are put in every token (for example subscribe and publish on
	// "room:*"), so that the demo's rooms work.
	Grants Grants
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Secret signs the tokens (HS256, at least 32 bytes). Nil means a
	// random one that dies with the process. The nodes of a demo cluster
	// share one, so that a token minted by the node nginx sent the page to
	// is good on the node it sends the WebSocket to.
	Secret []byte
}

// DemoIssuer mints HS256 connection tokens for any name it is asked for.
//
// DEMO ONLY. Whoever can reach the endpoint that calls Issue can be any
// user they like: it is authentication by typing a name. It exists so that
// `make run` shows a working chat with identities and no backend. Never
// enable it on a node that real users reach; a production deployment mints
// tokens in the application backend (docs/AUTH.md "Minting tokens").
//
// Its secret is random, made by NewDemoIssuer and never written anywhere,
// so demo tokens die with the process and cannot be forged or reused
// against another node, unless DemoConfig.Secret gives one that a demo
// cluster shares.
type DemoIssuer struct {
	secret []byte
	ttl    time.Duration
	grants Grants
	now    func() time.Time
}

// NewDemoIssuer makes a DemoIssuer with c.Secret or a fresh random one.
func NewDemoIssuer(c DemoConfig) (*DemoIssuer, error) {
	if c.TTL < 0 || c.TTL > 24*time.Hour {
		return nil, errors.New("auth: demo: ttl out of range [0, 24h]")
	}
	l := limits{maxInfo: DefaultMaxInfoBytes, maxGrants: DefaultMaxGrants}
	if _, err := l.identity(ErrInvalid, "demo", "", nil, nil, &c.Grants); err != nil {
		return nil, errors.New("auth: demo: bad grants: " + err.Reason)
	}
	if c.Secret != nil && len(c.Secret) < hmacMinBytes["HS256"] {
		return nil, errors.New("auth: demo: a secret of at least 32 bytes")
	}
	d := &DemoIssuer{secret: append([]byte(nil), c.Secret...), ttl: cmp.Or(c.TTL, time.Hour), grants: c.Grants, now: c.Now}
	if d.now == nil {
		d.now = time.Now
	}
	if c.Secret == nil {
		d.secret = make([]byte, 32)
		_, _ = rand.Read(d.secret) // crypto/rand.Read never fails (Go 1.24+)
	}
	return d, nil
}

// Key returns the verification key of the demo's tokens, for the
// verifier's configuration (VerifierConfig.Keys).
func (d *DemoIssuer) Key() Key {
	return Key{ID: DemoKeyID, Algorithm: "HS256", Secret: append([]byte(nil), d.secret...)}
}

// Issue mints a token for user (and client, "" for none), with the
// configured grants and {"name":user,"demo":true} as info. It refuses a
// user or client that is not ValidUserID. CPU only.
func (d *DemoIssuer) Issue(user, client string) (token string, expiry time.Time, err error) {
	if !ValidUserID(user) || (client != "" && !ValidUserID(client)) {
		return "", time.Time{}, fail(ErrInvalid, "bad user id", nil)
	}
	now := d.now()
	expiry = now.Add(d.ttl).Truncate(time.Second)
	info, _ := json.Marshal(map[string]any{"name": user, "demo": true})
	claims := connectionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   user,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expiry),
		},
		Client: client,
		Info:   info,
	}
	if d.grants.count() > 0 {
		claims.Grants = &d.grants
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, &claims)
	t.Header["kid"] = DemoKeyID
	token, err = t.SignedString(d.secret)
	return token, expiry, err
}
