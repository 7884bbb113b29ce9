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
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifierConfigErrors(t *testing.T) {
	k := getKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(k.ec)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	cases := []struct {
		name string
		c    VerifierConfig
		want string
	}{
		{"no keys", VerifierConfig{}, "no keys configured"},
		{"short secret", VerifierConfig{Keys: []Key{{Secret: []byte("short")}}}, "need at least 32"},
		{"short HS512 secret", VerifierConfig{Keys: []Key{{Algorithm: "HS512", Secret: hsSecret}}}, "need at least 64"},
		{"PEM as secret", VerifierConfig{Keys: []Key{{Secret: k.rsaPEM}}}, "secret looks like a PEM key"},
		{"secret and pem", VerifierConfig{Keys: []Key{{Secret: hsSecret, PEM: k.rsaPEM}}}, "both secret and pem"},
		{"empty key", VerifierConfig{Keys: []Key{{ID: "x"}}}, "neither secret nor pem"},
		{"RSA alg on a secret", VerifierConfig{Keys: []Key{{Algorithm: "RS256", Secret: hsSecret}}}, "not an HMAC algorithm"},
		{"none on a secret", VerifierConfig{Keys: []Key{{Algorithm: "none", Secret: hsSecret}}}, "not an HMAC algorithm"},
		{"HS alg on an RSA key", VerifierConfig{Keys: []Key{{Algorithm: "HS256", PEM: k.rsaPEM}}}, "does not fit an RSA key"},
		{"ES384 on a P-256 key", VerifierConfig{Keys: []Key{{Algorithm: "ES384", PEM: k.ecPEM}}}, "does not fit a P-256 key"},
		{"RS256 on an Ed25519 key", VerifierConfig{Keys: []Key{{Algorithm: "RS256", PEM: k.edPEM}}}, "does not fit an Ed25519 key"},
		{"RSA 1024", VerifierConfig{Keys: []Key{{PEM: pemPublic(t, &small.PublicKey)}}}, "need at least 2048"},
		{"private key", VerifierConfig{Keys: []Key{{PEM: privPEM}}}, "is a private key"},
		{"not PEM", VerifierConfig{Keys: []Key{{PEM: []byte("hello")}}}, "no PEM block"},
		{"allowed alg without key", VerifierConfig{Keys: []Key{{Secret: hsSecret}}, Algorithms: []string{"HS256", "RS256"}}, `"RS256" is allowed but no key`},
		{"none allowed", VerifierConfig{Keys: []Key{{Secret: hsSecret}}, Algorithms: []string{"HS256", "none"}}, `"none" is allowed but no key`},
		{"key alg not allowed", VerifierConfig{Keys: []Key{{Secret: hsSecret}, {PEM: pemPublic(t, &p384.PublicKey)}}, Algorithms: []string{"HS256"}}, `"ES384", which is not in the allowed`},
		{"leeway too large", VerifierConfig{Keys: []Key{{Secret: hsSecret}}, Leeway: 6 * 60e9}, "leeway"},
		{"negative limit", VerifierConfig{Keys: []Key{{Secret: hsSecret}}, MaxTokenBytes: -1}, "max token bytes"},
		{"missing jwks file", VerifierConfig{JWKSFile: filepath.Join(t.TempDir(), "none.json")}, "jwks file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewVerifier(c.c)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "auth: verifier: ") {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// Every problem is reported at once.
	_, err = NewVerifier(VerifierConfig{Keys: []Key{{Secret: []byte("x")}, {PEM: []byte("y")}}})
	if err == nil || !strings.Contains(err.Error(), "key 0") || !strings.Contains(err.Error(), "key 1") {
		t.Fatalf("error %v, want both keys named", err)
	}
}

func TestKeyPEMForms(t *testing.T) {
	k := getKeys(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.rsa.PublicKey, k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, validClaims())
	for name, p := range map[string][]byte{"PKIX": k.rsaPEM, "PKCS1": pkcs1, "certificate": cert} {
		v := newVerifier(t, VerifierConfig{Keys: []Key{{PEM: p}}})
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestJWKSFile(t *testing.T) {
	k := getKeys(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecPoint := func(key *ecdsa.PublicKey, size int) (string, string) {
		b, err := key.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b64u(b[1 : 1+size]), b64u(b[1+size:])
	}
	x256, y256 := ecPoint(&k.ec.PublicKey, 32)
	x384, y384 := ecPoint(&p384.PublicKey, 48)
	set := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "use": "sig", "n": b64u(k.rsa.N.Bytes()), "e": b64u(big.NewInt(int64(k.rsa.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": x256, "y": y256},
		{"kty": "EC", "kid": "e2", "crv": "P-384", "alg": "ES384", "x": x384, "y": y384},
		{"kty": "OKP", "kid": "d1", "crv": "Ed25519", "x": b64u(k.ed.Public().(ed25519.PublicKey))},
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}, // skipped: not for signatures
	}}
	file := writeJSON(t, set)
	v := newVerifier(t, VerifierConfig{JWKSFile: file, Keys: []Key{{ID: "hs", Secret: hsSecret}}})
	good := validClaims()
	for name, tok := range map[string]string{
		"RS256": sign(t, jwt.SigningMethodRS256, k.rsa, good, "kid", "r1"),
		"ES256": sign(t, jwt.SigningMethodES256, k.ec, good, "kid", "e1"),
		"ES384": sign(t, jwt.SigningMethodES384, p384, good, "kid", "e2"),
		"EdDSA": sign(t, jwt.SigningMethodEdDSA, k.ed, good, "kid", "d1"),
		"HS256": sign(t, jwt.SigningMethodHS256, hsSecret, good, "kid", "hs"),
	} {
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The kid binds: the EC key's id with the RSA signature fails.
	_, err := v.Verify(sign(t, jwt.SigningMethodRS256, k.rsa, good, "kid", "e1"))
	wantKind(t, err, ErrInvalid)

	bad := []struct {
		name string
		key  map[string]string
		want string
	}{
		{"oct", map[string]string{"kty": "oct", "k": b64u(hsSecret)}, "symmetric key"},
		{"point off the curve", map[string]string{"kty": "EC", "crv": "P-256", "x": x256, "y": x256}, "jwks key 0"},
		{"short coordinates", map[string]string{"kty": "EC", "crv": "P-256", "x": "AQAB", "y": "AQAB"}, "bad EC coordinates"},
		{"unknown curve", map[string]string{"kty": "EC", "crv": "P-192", "x": x256, "y": y256}, "unsupported curve"},
		{"even exponent", map[string]string{"kty": "RSA", "n": b64u(k.rsa.N.Bytes()), "e": "Ag"}, "bad RSA exponent"},
		{"small modulus", map[string]string{"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "need at least 2048"},
		{"missing n", map[string]string{"kty": "RSA", "e": "AQAB"}, "missing key member"},
		{"alg mismatch", map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": b64u(k.ed.Public().(ed25519.PublicKey))}, "does not fit"},
		{"unknown kty", map[string]string{"kty": "XYZ"}, "unsupported kty"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			file := writeJSON(t, map[string]any{"keys": []map[string]string{c.key}})
			_, err := NewVerifier(VerifierConfig{JWKSFile: file})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	file = filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(VerifierConfig{JWKSFile: file}); err == nil {
		t.Fatal("malformed jwks accepted")
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestAnswerFor(t *testing.T) {
	cases := []struct {
		err       error
		status    int
		close     int
		challenge bool
	}{
		{fail(ErrExpired, "token expired", nil), 401, CloseExpired, true},
		{fail(ErrInvalid, "bad signature", nil), 401, CloseInvalid, true},
		{fail(ErrMissing, "no token", nil), 401, CloseMissing, true},
		{fail(ErrDenied, "denied by backend", nil), 403, CloseForbidden, false},
		{fail(ErrUnavailable, "hook unreachable", nil), 503, CloseUnavailable, false},
		{ErrInvalid, 401, CloseInvalid, true},
		{os.ErrClosed, 500, 1011, false},
	}
	for _, c := range cases {
		a := AnswerFor(c.err)
		if a.Status != c.status || a.Close != c.close || (a.Challenge != "") != c.challenge {
			t.Errorf("%v: answer %+v", c.err, a)
		}
		if c.close >= 4000 && a.Reconnect != (c.close < 4500) {
			t.Errorf("%v: close %d with reconnect %v: docs/PROTOCOL.md says 4000-4499 reconnect", c.err, a.Close, a.Reconnect)
		}
		if len(a.Reason) == 0 || len(a.Reason) > 123 {
			t.Errorf("%v: reason %q does not fit a close frame", c.err, a.Reason)
		}
	}
	if got := AnswerFor(fail(ErrInvalid, "bad signature", os.ErrClosed)).Reason; got != "invalid token: bad signature" {
		t.Errorf("reason %q: the cause must stay out of the client's answer", got)
	}
}
