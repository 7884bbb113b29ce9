package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify is the cost of one connect's token verification, on the
// event loop, for a typical token (user, client, two grants, small info).
func BenchmarkVerify(b *testing.B) {
	k := getKeys(b)
	v := newVerifier(b, allKeysConfig(k))
	c := claims{
		"sub": "alice", "client": "phone-1", "exp": testNow.Add(time.Hour).Unix(), "iat": testNow.Unix(),
		"channels": []string{"room:42"}, "grants": map[string]any{"publish": []string{"room:42"}},
		"info": map[string]string{"name": "Alice"},
	}
	for _, m := range []struct {
		name   string
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", jwt.SigningMethodHS256, hsSecret},
		{"RS256", jwt.SigningMethodRS256, k.rsa},
		{"ES256", jwt.SigningMethodES256, k.ec},
		{"EdDSA", jwt.SigningMethodEdDSA, k.ed},
	} {
		tok := sign(b, m.method, m.key, c)
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// A forged token costs as much as a good one up to the signature.
	bad := badSignatureEncoding(sign(b, jwt.SigningMethodHS256, hsSecret, c)) // not even base64
	b.Run("malformed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(bad); err == nil {
				b.Fatal("verified")
			}
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	tt := &TokenTransport{Cookie: "comet_token"}
	r := TokenRequest{Query: "ch=room:1&ch=room:2&token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig", Cookie: "a=b; comet_token=x"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tt.Extract(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanSubscribe(b *testing.B) {
	p := testPolicy(b)
	b.ReportAllocs()
	for b.Loop() {
		if !p.CanSubscribe(alice, "group:7", nil).Allowed || p.CanSubscribe(alice, "user:bob", nil).Allowed {
			b.Fatal("wrong decision")
		}
	}
}
