package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// allKeys configures one key of each kind, as an operator would.
func allKeysConfig(k *testKeys) VerifierConfig {
	return VerifierConfig{Keys: []Key{
		{ID: "hs", Secret: hsSecret},
		{ID: "rs", PEM: k.rsaPEM},
		{ID: "es", PEM: k.ecPEM},
		{ID: "ed", PEM: k.edPEM},
	}}
}

func TestVerifyMatrix(t *testing.T) {
	k := getKeys(t)
	all := newVerifier(t, allKeysConfig(k))
	hsOnly := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}})
	rsOnly := newVerifier(t, VerifierConfig{Keys: []Key{{PEM: k.rsaPEM}}})
	// Both an HMAC secret and the RSA key: the confusion attack's target.
	hsAndRS := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}, {PEM: k.rsaPEM}}})

	good := validClaims()
	noneToken, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(good)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	cases := []struct {
		name   string
		v      *Verifier
		token  string
		kind   error
		reason string
	}{
		{"HS256 valid", all, sign(t, jwt.SigningMethodHS256, hsSecret, good), nil, ""},
		{"RS256 valid", all, sign(t, jwt.SigningMethodRS256, k.rsa, good), nil, ""},
		{"ES256 valid", all, sign(t, jwt.SigningMethodES256, k.ec, good), nil, ""},
		{"EdDSA valid", all, sign(t, jwt.SigningMethodEdDSA, k.ed, good), nil, ""},
		{"kid selects", all, sign(t, jwt.SigningMethodHS256, hsSecret, good, "kid", "hs"), nil, ""},
		{"unknown kid", all, sign(t, jwt.SigningMethodHS256, hsSecret, good, "kid", "nope"), ErrInvalid, "unknown key id"},
		{"kid of another alg", all, sign(t, jwt.SigningMethodHS256, hsSecret, good, "kid", "rs"), ErrInvalid, "unknown key id"},
		{"expired", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", testNow.Add(-time.Minute).Unix())), ErrExpired, "token expired"},
		{"expired within leeway", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", testNow.Add(-2*time.Second).Unix())), nil, ""},
		{"not yet valid", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("nbf", testNow.Add(time.Minute).Unix())), ErrInvalid, "not valid yet"},
		{"nbf within leeway", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("nbf", testNow.Add(2*time.Second).Unix())), nil, ""},
		{"issued in the future", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("iat", testNow.Add(time.Minute).Unix())), ErrInvalid, "issued in the future"},
		{"expired and not yet valid", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", testNow.Add(-time.Hour).Unix(), "nbf", testNow.Add(time.Hour).Unix())), ErrInvalid, "not valid yet"},
		{"no exp", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", nil)), ErrInvalid, "missing claim"},
		{"exp not a number", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", "tomorrow")), ErrInvalid, "malformed token"},
		{"wrong HMAC key", all, sign(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two byte"), good), ErrInvalid, "bad signature"},
		{"wrong RSA key", all, sign(t, jwt.SigningMethodRS256, k.rsa2, good), ErrInvalid, "bad signature"},
		{"wrong EC key", all, sign(t, jwt.SigningMethodES256, otherEC, good), ErrInvalid, "bad signature"},
		{"alg none", all, noneToken, ErrInvalid, "algorithm not allowed"},
		{"alg none, hand made", all, rawToken(t, map[string]string{"alg": "none", "typ": "JWT"}, good, nil, ""), ErrInvalid, "algorithm not allowed"},
		{"alg NONE", all, rawToken(t, map[string]string{"alg": "NONE"}, good, nil, ""), ErrInvalid, "unknown algorithm"},
		{"no alg", all, rawToken(t, map[string]string{"typ": "JWT"}, good, hsSecret, ""), ErrInvalid, "unknown algorithm"},
		{"HS256 with RSA public key as secret, RS only", rsOnly, sign(t, jwt.SigningMethodHS256, k.rsaPEM, good), ErrInvalid, "algorithm not allowed"},
		{"HS256 with RSA public key as secret, HS and RS", hsAndRS, sign(t, jwt.SigningMethodHS256, k.rsaPEM, good), ErrInvalid, "bad signature"},
		{"HS256 with RSA public key as secret, kid of RSA key", all, sign(t, jwt.SigningMethodHS256, k.rsaPEM, good, "kid", "rs"), ErrInvalid, "unknown key id"},
		{"RS256 when only HS allowed", hsOnly, sign(t, jwt.SigningMethodRS256, k.rsa, good), ErrInvalid, "algorithm not allowed"},
		{"RS384 with the RS256 key", all, sign(t, jwt.SigningMethodRS384, k.rsa, good), ErrInvalid, "algorithm not allowed"},
		{"PS256 with the RS256 key", all, sign(t, jwt.SigningMethodPS256, k.rsa, good), ErrInvalid, "algorithm not allowed"},
		{"malformed: one segment", all, "abc", ErrInvalid, "malformed token"},
		{"malformed: empty segments", all, "..", ErrInvalid, "malformed token"},
		{"malformed: four segments", all, sign(t, jwt.SigningMethodHS256, hsSecret, good) + ".x", ErrInvalid, "malformed token"},
		{"malformed: bad base64", all, badSignatureEncoding(sign(t, jwt.SigningMethodHS256, hsSecret, good)), ErrInvalid, "malformed token"},
		{"malformed: padded base64", all, strings.Replace(sign(t, jwt.SigningMethodHS256, hsSecret, good), ".", "=.", 1), ErrInvalid, "malformed token"},
		{"malformed: claims not JSON", all, rawToken(t, map[string]string{"alg": "HS256"}, "x", hsSecret, ""), ErrInvalid, "malformed token"},
		{"crit header", all, sign(t, jwt.SigningMethodHS256, hsSecret, good, "crit", "exp"), ErrInvalid, "unsupported crit header"},
		{"kid not a string", all, rawToken(t, map[string]any{"alg": "HS256", "kid": 7}, good, hsSecret, ""), ErrInvalid, "malformed token"},
		{"missing sub", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", nil)), ErrInvalid, "no user"},
		{"empty sub", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", "")), ErrInvalid, "no user"},
		{"sub with a space", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", "ali ce")), ErrInvalid, "bad user id"},
		{"sub with markup", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", "<script>")), ErrInvalid, "bad user id"},
		{"sub with a star", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", "al*")), ErrInvalid, "bad user id"},
		{"sub non-ASCII", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", "alïce")), ErrInvalid, "bad user id"},
		{"sub over 64 bytes", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", strings.Repeat("a", 65))), ErrInvalid, "bad user id"},
		{"sub of 64 bytes", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", strings.Repeat("a", 64))), nil, ""},
		{"sub not a string", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("sub", 42)), ErrInvalid, "malformed token"},
		{"bad client", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("client", "a b")), ErrInvalid, "bad client id"},
		{"subscription token as connection token", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("channel", "room:1")), ErrInvalid, "a subscription token is not a connection token"},
		{"bare star grant", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("channels", []string{"*"})), ErrInvalid, "bad grant"},
		{"grant with bad bytes", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("grants", map[string]any{"publish": []string{"room 1"}})), ErrInvalid, "bad grant"},
		{"grant with inner star", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("channels", []string{"ro*m:1"})), ErrInvalid, "bad grant"},
		{"too many grants", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("channels", manyGrants(65))), ErrInvalid, "too many grants"},
		{"info not an object", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("info", []int{1})), ErrInvalid, "info is not an object"},
		{"info too large", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("info", map[string]string{"x": strings.Repeat("a", 1100)})), ErrInvalid, "info too large"},
		{"oversize token", all, sign(t, jwt.SigningMethodHS256, hsSecret, good.with("pad", strings.Repeat("a", 4096))), ErrInvalid, "token too large"},
		{"empty", all, "", ErrMissing, "no token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := c.v.Verify(c.token)
			wantKind(t, err, c.kind)
			if c.kind == nil {
				if id.User == "" || id.Expiry.IsZero() {
					t.Fatalf("identity %+v", id)
				}
				return
			}
			if got := reasonOf(err); got != c.reason {
				t.Fatalf("reason %q, want %q (error %v)", got, c.reason, err)
			}
			if id.User != "" {
				t.Fatalf("a failed verification returned user %q", id.User)
			}
		})
	}
}

func badSignatureEncoding(tok string) string {
	return tok[:strings.LastIndexByte(tok, '.')] + ".!!"
}

func manyGrants(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = "room:" + strings.Repeat("x", i+1)
	}
	return g
}

func TestVerifyIdentityFields(t *testing.T) {
	v := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}})
	exp := testNow.Add(time.Hour).Unix()
	tok := sign(t, jwt.SigningMethodHS256, hsSecret, claims{
		"sub": "alice", "client": "phone-1", "exp": exp,
		"channels": []string{"room:42"},
		"grants":   map[string]any{"subscribe": []string{"team:*"}, "publish": []string{"room:42"}, "presence": []string{"room:*"}},
		"info":     map[string]any{"name": "Alice", "tags": []string{"a", "b"}},
		"unknown":  "ignored",
	})
	id, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "alice" || id.Client != "phone-1" || id.Expiry.Unix() != exp {
		t.Fatalf("identity %+v", id)
	}
	if got := strings.Join(id.Grants.Subscribe, ","); got != "room:42,team:*" {
		t.Fatalf("subscribe grants %q", got)
	}
	if got := strings.Join(id.Grants.Publish, ","); got != "room:42" {
		t.Fatalf("publish grants %q", got)
	}
	if got := strings.Join(id.Grants.Presence, ","); got != "room:*" {
		t.Fatalf("presence grants %q", got)
	}
	if got := string(id.Info); got != `{"name":"Alice","tags":["a","b"]}` {
		t.Fatalf("info %s", got)
	}
	if id.Expired(testNow) || !id.Expired(time.Unix(exp, 0)) {
		t.Fatal("Expired does not follow exp")
	}
}

func TestVerifyOptions(t *testing.T) {
	k := getKeys(t)
	good := validClaims()
	t.Run("expiry optional", func(t *testing.T) {
		v := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}, ExpiryOptional: true})
		id, err := v.Verify(sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", nil)))
		if err != nil || !id.Expiry.IsZero() || id.Expired(testNow.Add(1000*time.Hour)) {
			t.Fatalf("id %+v err %v", id, err)
		}
	})
	t.Run("issuer and audience", func(t *testing.T) {
		v := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}, Issuer: "https://app", Audience: "comet"})
		ok := good.with("iss", "https://app", "aud", []string{"other", "comet"})
		if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, hsSecret, ok)); err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]struct {
			c      claims
			reason string
		}{
			"wrong iss": {ok.with("iss", "https://evil"), "wrong issuer"},
			"no iss":    {ok.with("iss", nil), "missing claim"},
			"wrong aud": {ok.with("aud", "other"), "wrong audience"},
			"no aud":    {ok.with("aud", nil), "missing claim"},
		} {
			_, err := v.Verify(sign(t, jwt.SigningMethodHS256, hsSecret, c.c))
			wantKind(t, err, ErrInvalid)
			if reasonOf(err) != c.reason {
				t.Errorf("%s: reason %q, want %q", name, reasonOf(err), c.reason)
			}
		}
		// Expired with a wrong issuer: a fresh token would not help.
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, hsSecret, ok.with("iss", "x", "exp", testNow.Add(-time.Hour).Unix())))
		wantKind(t, err, ErrInvalid)
	})
	t.Run("no leeway", func(t *testing.T) {
		v := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}, Leeway: -1})
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, hsSecret, good.with("exp", testNow.Add(-time.Second).Unix())))
		wantKind(t, err, ErrExpired)
	})
	t.Run("key rotation without kid", func(t *testing.T) {
		old := []byte("the old secret, thirty-two bytes")
		v := newVerifier(t, VerifierConfig{Keys: []Key{{ID: "new", Secret: hsSecret}, {ID: "old", Secret: old}}})
		for _, s := range [][]byte{hsSecret, old} {
			if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, s, good)); err != nil {
				t.Fatal(err)
			}
		}
		// With a kid, only that key counts.
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, old, good, "kid", "new"))
		wantKind(t, err, ErrInvalid)
	})
	t.Run("HS512", func(t *testing.T) {
		secret := []byte(strings.Repeat("k", 64))
		v := newVerifier(t, VerifierConfig{Keys: []Key{{Algorithm: "HS512", Secret: secret}}})
		if _, err := v.Verify(sign(t, jwt.SigningMethodHS512, secret, good)); err != nil {
			t.Fatal(err)
		}
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, secret, good))
		wantKind(t, err, ErrInvalid)
	})
	t.Run("RS512 key", func(t *testing.T) {
		v := newVerifier(t, VerifierConfig{Keys: []Key{{Algorithm: "RS512", PEM: k.rsaPEM}}})
		if _, err := v.Verify(sign(t, jwt.SigningMethodRS512, k.rsa, good)); err != nil {
			t.Fatal(err)
		}
		if got := v.Algorithms(); len(got) != 1 || got[0] != "RS512" {
			t.Fatalf("algorithms %v", got)
		}
	})
}

func TestSubscriptionToken(t *testing.T) {
	v := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}})
	alice := &Identity{User: "alice"}
	sub := func(c claims) string { return sign(t, jwt.SigningMethodHS256, hsSecret, c) }
	good := validClaims().with("channel", "group:7")

	s, err := v.VerifySubscription(sub(good), alice)
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "alice" || s.Channel != "group:7" || s.Publish || s.Expiry.IsZero() {
		t.Fatalf("token %+v", s)
	}
	s, err = v.VerifySubscription(sub(good.with("publish", true)), alice)
	if err != nil || !s.Publish {
		t.Fatalf("publish token %+v %v", s, err)
	}
	cases := []struct {
		name   string
		token  string
		id     *Identity
		kind   error
		reason string
	}{
		{"another user", sub(good), &Identity{User: "bob"}, ErrInvalid, "token names another user"},
		{"anonymous", sub(good), &Identity{}, ErrInvalid, "subscription tokens need an authenticated connection"},
		{"nil identity", sub(good), nil, ErrInvalid, "subscription tokens need an authenticated connection"},
		{"connection token", sub(validClaims()), alice, ErrInvalid, "not a subscription token"},
		{"bad channel", sub(good.with("channel", "group 7")), alice, ErrInvalid, "bad channel"},
		{"empty channel", sub(good.with("channel", "")), alice, ErrInvalid, "bad channel"},
		{"no sub", sub(good.with("sub", nil)), alice, ErrInvalid, "no user"},
		{"expired", sub(good.with("exp", testNow.Add(-time.Hour).Unix())), alice, ErrExpired, "token expired"},
		{"wrong key", sign(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two byte"), good), alice, ErrInvalid, "bad signature"},
		{"empty", "", alice, ErrMissing, "no token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := v.VerifySubscription(c.token, c.id)
			wantKind(t, err, c.kind)
			if reasonOf(err) != c.reason {
				t.Fatalf("reason %q, want %q", reasonOf(err), c.reason)
			}
			if s.Channel != "" {
				t.Fatalf("a failed verification returned %+v", s)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	v := newVerifier(t, VerifierConfig{Keys: []Key{{Secret: hsSecret}}})
	cur := &Identity{User: "alice", Client: "phone"}
	tok := func(c claims) string { return sign(t, jwt.SigningMethodHS256, hsSecret, c) }
	later := testNow.Add(2 * time.Hour).Unix()
	id, err := v.Refresh(cur, tok(validClaims().with("client", "phone", "exp", later)))
	if err != nil || id.Expiry.Unix() != later {
		t.Fatalf("refresh %+v %v", id, err)
	}
	for name, c := range map[string]struct {
		cur   *Identity
		token string
	}{
		"another user":   {cur, tok(validClaims().with("sub", "bob", "client", "phone"))},
		"another client": {cur, tok(validClaims().with("client", "laptop"))},
		"no client":      {cur, tok(validClaims())},
		"anonymous":      {&Identity{}, tok(validClaims())},
	} {
		if _, err := v.Refresh(c.cur, c.token); !errorsIsInvalid(err) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// A connection without a client id may refresh to any client.
	if _, err := v.Refresh(&Identity{User: "alice"}, tok(validClaims().with("client", "x"))); err != nil {
		t.Fatal(err)
	}
	_, err = v.Refresh(cur, tok(validClaims().with("client", "phone", "exp", testNow.Add(-time.Hour).Unix())))
	wantKind(t, err, ErrExpired)
}

func errorsIsInvalid(err error) bool { return err != nil && AnswerFor(err).Close == CloseInvalid }
