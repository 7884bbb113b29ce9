package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testNow is the fixed clock of the token tests.
var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

var hsSecret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

// testKeys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	rsa     *rsa.PrivateKey
	rsaPEM  []byte
	ec      *ecdsa.PrivateKey
	ecPEM   []byte
	ed      ed25519.PrivateKey
	edPEM   []byte
	rsa2    *rsa.PrivateKey // a second RSA key, for "wrong key"
	rsa2PEM []byte
}

var (
	keysOnce sync.Once
	keys     testKeys
)

func pemPublic(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func getKeys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, keys.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
		keys.rsaPEM = pemPublic(t, &keys.rsa.PublicKey)
		keys.rsa2PEM = pemPublic(t, &keys.rsa2.PublicKey)
		keys.ecPEM = pemPublic(t, &keys.ec.PublicKey)
		keys.edPEM = pemPublic(t, keys.ed.Public())
	})
	return &keys
}

// claims is a token's claim set, as the backend writes it.
type claims map[string]any

// validClaims are the claims of a good connection token at testNow.
func validClaims() claims {
	return claims{"sub": "alice", "exp": testNow.Add(time.Hour).Unix(), "iat": testNow.Add(-time.Minute).Unix()}
}

func (c claims) with(kv ...any) claims {
	out := claims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// sign mints a token with method and key; header entries are added.
func sign(t testing.TB, method jwt.SigningMethod, key any, c claims, header ...string) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(c))
	for i := 0; i+1 < len(header); i += 2 {
		tok.Header[header[i]] = header[i+1]
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawToken assembles a token from a header and claims by hand, signed
// with HMAC-SHA256 over secret (or with sig given verbatim when secret is
// nil), for tokens a library would refuse to make.
func rawToken(t testing.TB, header, body any, secret []byte, sig string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(body)
	if secret != nil {
		s, err := jwt.SigningMethodHS256.Sign(signing, secret)
		if err != nil {
			t.Fatal(err)
		}
		sig = base64.RawURLEncoding.EncodeToString(s)
	}
	return signing + "." + sig
}

func newVerifier(t testing.TB, c VerifierConfig) *Verifier {
	t.Helper()
	if c.Now == nil {
		c.Now = fixedNow
	}
	v, err := NewVerifier(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantKind fails unless err is of kind (nil kind: no error).
func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	switch {
	case kind == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case kind != nil && !errors.Is(err, kind):
		t.Fatalf("error %v, want kind %v", err, kind)
	}
}

// reasonOf returns an Error's client-facing reason.
func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
