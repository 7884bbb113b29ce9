package auth

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// VerifierConfig configures token verification. The zero value of every
// field but Keys (or JWKSFile) means the documented default.
type VerifierConfig struct {
	// Keys are the verification keys; at least one key, here or in
	// JWKSFile, is required. At most MaxKeys in all.
	Keys []Key
	// JWKSFile, if set, is a JSON Web Key Set file (RFC 7517) whose public
	// signing keys are added to Keys. It is read once, by NewVerifier.
	JWKSFile string
	// Algorithms is the allow-list of JWS algs. Empty means the algs of
	// the configured keys. Naming an alg no key has, or leaving out the
	// alg of a configured key, is a configuration error; "none" is never
	// allowed.
	Algorithms []string
	// Issuer, if set, must equal the token's iss.
	Issuer string
	// Audience, if set, must be one of the token's aud.
	Audience string
	// Leeway absorbs clock skew between the token's issuer and this node
	// when checking exp, nbf and iat. Zero means 5 s; negative means none;
	// at most 5 min.
	Leeway time.Duration
	// ExpiryOptional accepts tokens without exp (they never expire). By
	// default exp is required: a token that cannot expire cannot be
	// revoked either.
	ExpiryOptional bool
	// MaxTokenBytes bounds a token before anything is decoded. Zero means
	// 4096.
	MaxTokenBytes int
	// MaxInfoBytes bounds the info claim, compacted. Zero means 1024.
	MaxInfoBytes int
	// MaxGrants bounds the grant patterns of one token, all operations
	// together. Zero means 64.
	MaxGrants int
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Verification defaults and bounds.
const (
	DefaultLeeway        = 5 * time.Second
	MaxLeeway            = 5 * time.Minute
	DefaultMaxTokenBytes = 4096
	maxMaxTokenBytes     = 64 << 10
	maxMaxInfoBytes      = 64 << 10
	maxMaxGrants         = 4096
)

// Verifier verifies connection and subscription tokens. It is immutable
// and safe for concurrent use; its methods are CPU only and may run on an
// event loop.
type Verifier struct {
	parser   *jwt.Parser
	algs     []string
	keys     map[keySelector]any // a key, or a jwt.VerificationKeySet
	maxToken int
	limits   limits
	now      func() time.Time
	keyFunc  jwt.Keyfunc // v.lookup, bound once
}

// keySelector names the keys a token may be checked against: all keys of
// alg (byID false), or those of alg with id kid.
type keySelector struct {
	alg  string
	kid  string
	byID bool
}

// NewVerifier checks c and builds a Verifier. It reads c.JWKSFile when set
// (the only I/O of this type); the returned error lists every problem.
func NewVerifier(c VerifierConfig) (*Verifier, error) {
	var errs []error
	var keys []verificationKey
	for i := range c.Keys {
		k, err := c.Keys[i].resolve()
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d (id %q): %w", i, c.Keys[i].ID, err))
			continue
		}
		keys = append(keys, k)
	}
	if c.JWKSFile != "" {
		b, err := os.ReadFile(c.JWKSFile)
		if err == nil {
			var more []verificationKey
			more, err = parseJWKS(b)
			keys = append(keys, more...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("jwks file %s: %w", c.JWKSFile, err))
		}
	}
	if len(keys) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no keys configured"))
	}
	if len(keys) > MaxKeys {
		errs = append(errs, fmt.Errorf("%d keys, at most %d", len(keys), MaxKeys))
	}
	var keyAlgs []string
	for _, k := range keys {
		if !slices.Contains(keyAlgs, k.alg) {
			keyAlgs = append(keyAlgs, k.alg)
		}
	}
	algs := keyAlgs
	if len(c.Algorithms) > 0 {
		algs = c.Algorithms
		for _, a := range c.Algorithms {
			if !slices.Contains(keyAlgs, a) {
				errs = append(errs, fmt.Errorf("algorithm %q is allowed but no key has it", a))
			}
		}
		for _, a := range keyAlgs {
			if !slices.Contains(c.Algorithms, a) {
				errs = append(errs, fmt.Errorf("a key has algorithm %q, which is not in the allowed algorithms", a))
			}
		}
	}
	leeway := c.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	case leeway > MaxLeeway:
		errs = append(errs, fmt.Errorf("leeway %v over %v", leeway, MaxLeeway))
	}
	v := &Verifier{
		algs:     slices.Clone(algs),
		keys:     indexKeys(keys),
		maxToken: orDefault(c.MaxTokenBytes, DefaultMaxTokenBytes),
		limits:   limits{maxInfo: orDefault(c.MaxInfoBytes, DefaultMaxInfoBytes), maxGrants: orDefault(c.MaxGrants, DefaultMaxGrants)},
		now:      c.Now,
	}
	errs = append(errs, checkRange("max token bytes", c.MaxTokenBytes, maxMaxTokenBytes),
		checkRange("max info bytes", c.MaxInfoBytes, maxMaxInfoBytes),
		checkRange("max grants", c.MaxGrants, maxMaxGrants))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth: verifier: %w", err)
	}
	if v.now == nil {
		v.now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(v.now),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if !c.ExpiryOptional {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	v.keyFunc = v.lookup
	return v, nil
}

// indexKeys precomputes, per selector, what the key function returns, so
// that a lookup allocates nothing.
func indexKeys(keys []verificationKey) map[keySelector]any {
	groups := map[keySelector][]jwt.VerificationKey{}
	for _, k := range keys {
		all := keySelector{alg: k.alg}
		one := keySelector{alg: k.alg, kid: k.id, byID: true}
		groups[all] = append(groups[all], k.key)
		groups[one] = append(groups[one], k.key)
	}
	index := make(map[keySelector]any, len(groups))
	for sel, g := range groups {
		if len(g) == 1 {
			index[sel] = g[0]
		} else {
			index[sel] = jwt.VerificationKeySet{Keys: g}
		}
	}
	return index
}

// Algorithms returns the allowed algs, for the startup log.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algs) }

// lookup is the jwt key function: the keys of the token's own alg (the
// parser has checked it against the allow-list), narrowed by kid.
func (v *Verifier) lookup(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: extensions we do not understand must fail.
		return nil, fail(ErrInvalid, "unsupported crit header", nil)
	}
	sel := keySelector{alg: t.Method.Alg()}
	if kid, ok := t.Header["kid"]; ok {
		s, isString := kid.(string)
		if !isString {
			return nil, fail(ErrInvalid, "malformed token", nil)
		}
		sel.kid, sel.byID = s, true
	}
	if k, ok := v.keys[sel]; ok {
		return k, nil
	}
	return nil, fail(ErrInvalid, "unknown key id", nil)
}

// Verify checks a connection token and returns the identity it names.
// Errors: ErrMissing for an empty token, ErrExpired for a genuine token
// past its exp, ErrInvalid for anything else. CPU only.
func (v *Verifier) Verify(token string) (Identity, error) {
	if err := v.precheck(token); err != nil {
		return Identity{}, err
	}
	var c connectionClaims
	t, err := v.parser.ParseWithClaims(token, &c, v.keyFunc)
	if err != nil {
		return Identity{}, v.classify(err, t)
	}
	if c.Channel != nil {
		return Identity{}, fail(ErrInvalid, "a subscription token is not a connection token", nil)
	}
	id, e := v.limits.identity(ErrInvalid, c.Subject, c.Client, c.Info, c.Channels, c.Grants)
	if e != nil {
		return Identity{}, e
	}
	if c.ExpiresAt != nil {
		id.Expiry = c.ExpiresAt.Time
	}
	return id, nil
}

// Refresh verifies a new connection token for a connection that is
// already authenticated as cur: the token must name the same user, and the
// same client when cur has one. Errors as for Verify; a token for anyone
// else, or a refresh of an anonymous connection, is ErrInvalid.
func (v *Verifier) Refresh(cur *Identity, token string) (Identity, error) {
	if cur.Anonymous() {
		return Identity{}, fail(ErrInvalid, "an anonymous connection cannot refresh", nil)
	}
	id, err := v.Verify(token)
	if err != nil {
		return Identity{}, err
	}
	if id.User != cur.User {
		return Identity{}, fail(ErrInvalid, "token names another user", nil)
	}
	if cur.Client != "" && id.Client != cur.Client {
		return Identity{}, fail(ErrInvalid, "token names another client", nil)
	}
	return id, nil
}

// SubscriptionToken is a verified subscription token: the backend's
// permission for User to subscribe to Channel (and to publish into it
// when Publish is set), until Expiry (zero: never).
type SubscriptionToken struct {
	User    string
	Channel string
	Expiry  time.Time
	Publish bool
}

// VerifySubscription checks a subscription token presented by a
// connection authenticated as id. The token's sub must be id.User.
// Errors: ErrMissing for an empty token, ErrExpired for a genuine token
// past its exp (the client should fetch a new one and subscribe again),
// ErrInvalid for anything else, including an anonymous id. CPU only.
func (v *Verifier) VerifySubscription(token string, id *Identity) (SubscriptionToken, error) {
	if err := v.precheck(token); err != nil {
		return SubscriptionToken{}, err
	}
	if id.Anonymous() {
		return SubscriptionToken{}, fail(ErrInvalid, "subscription tokens need an authenticated connection", nil)
	}
	var c subscriptionClaims
	t, err := v.parser.ParseWithClaims(token, &c, v.keyFunc)
	if err != nil {
		return SubscriptionToken{}, v.classify(err, t)
	}
	switch {
	case c.Channel == nil:
		return SubscriptionToken{}, fail(ErrInvalid, "not a subscription token", nil)
	case !validChannel(*c.Channel):
		return SubscriptionToken{}, fail(ErrInvalid, "bad channel", nil)
	case c.Subject == "":
		return SubscriptionToken{}, fail(ErrInvalid, "no user", nil)
	case c.Subject != id.User:
		return SubscriptionToken{}, fail(ErrInvalid, "token names another user", nil)
	}
	s := SubscriptionToken{User: c.Subject, Channel: *c.Channel, Publish: c.Publish}
	if c.ExpiresAt != nil {
		s.Expiry = c.ExpiresAt.Time
	}
	return s, nil
}

func (v *Verifier) precheck(token string) error {
	if token == "" {
		return fail(ErrMissing, "no token", nil)
	}
	if len(token) > v.maxToken {
		return fail(ErrInvalid, "token too large", nil)
	}
	return nil
}

// classify maps a jwt error to one of ours. Claim problems other than
// expiry are checked first, so that ErrExpired (refresh and retry) is
// answered only when a fresh token would in fact pass.
func (v *Verifier) classify(err error, t *jwt.Token) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	reason := "invalid token"
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = "malformed token"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = "unknown algorithm"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "bad signature"
		if t != nil && t.Method != nil && !slices.Contains(v.algs, t.Method.Alg()) {
			reason = "algorithm not allowed"
		}
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = "missing claim"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = "wrong audience"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = "issued in the future"
	case errors.Is(err, jwt.ErrInvalidType):
		reason = "malformed claims"
	case errors.Is(err, jwt.ErrTokenExpired):
		return fail(ErrExpired, "token expired", err)
	}
	return fail(ErrInvalid, reason, err)
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// checkRange reports a limit that is negative or above max; zero is the
// default and always fine.
func checkRange(name string, n, max int) error {
	if n < 0 || n > max {
		return fmt.Errorf("%s %d out of range [0, %d]", name, n, max)
	}
	return nil
}
