package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Key is one verification key of the configuration. Exactly one of Secret
// and PEM is set. Every key is bound to one algorithm: a token is checked
// only against keys of its own alg, and an HMAC secret is only ever an
// HMAC secret, which is what defeats algorithm confusion (a token that
// says HS256 and is signed with an RSA public key's bytes finds no HMAC
// key made of those bytes).
type Key struct {
	// ID is the key id a token selects with its kid header. A token with a
	// kid is checked only against keys with that ID; a token without one
	// against every key of its algorithm. "" is allowed.
	ID string
	// Algorithm is the one JWS alg this key verifies: HS256, HS384, HS512
	// for secrets; RS256, RS384, RS512, PS256, PS384, PS512 for RSA keys;
	// ES256, ES384, ES512 for EC keys on the matching curve; EdDSA for
	// Ed25519 keys. "" means HS256 for a secret, RS256 for an RSA key, the
	// curve's ES alg for an EC key and EdDSA for an Ed25519 key.
	Algorithm string
	// Secret is an HMAC secret, at least as long as the hash output
	// (RFC 7518 §3.2: 32 bytes for HS256, 48 for HS384, 64 for HS512).
	Secret []byte
	// PEM is a public key: a "PUBLIC KEY" (PKIX), an "RSA PUBLIC KEY"
	// (PKCS #1) or a "CERTIFICATE" block. Private keys are refused: the
	// edge verifies, it never needs to sign.
	PEM []byte
}

// Bounds of the key configuration.
const (
	MaxKeys         = 64
	minRSABits      = 2048
	maxKeyIDBytes   = 128
	pemMarker       = "-----BEGIN"
	defaultHMACAlg  = "HS256"
	defaultRSAAlg   = "RS256"
	defaultEdDSAAlg = "EdDSA"
)

// hmacMinBytes is RFC 7518 §3.2's minimum secret size per algorithm.
var hmacMinBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

var rsaAlgs = map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true}

// ecAlg is the ES alg of each curve (RFC 7518 §3.4).
var ecAlg = map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}

// verificationKey is a configured key resolved to its alg and the Go value
// the jwt signing method verifies with.
type verificationKey struct {
	id  string
	alg string
	key any // []byte, *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey
}

// resolve checks k and turns it into a verificationKey.
func (k *Key) resolve() (verificationKey, error) {
	if len(k.ID) > maxKeyIDBytes {
		return verificationKey{}, errors.New("key id over 128 bytes")
	}
	switch {
	case len(k.Secret) > 0 && len(k.PEM) > 0:
		return verificationKey{}, errors.New("both secret and pem set")
	case len(k.Secret) > 0:
		alg := k.Algorithm
		if alg == "" {
			alg = defaultHMACAlg
		}
		min, ok := hmacMinBytes[alg]
		if !ok {
			return verificationKey{}, fmt.Errorf("algorithm %q is not an HMAC algorithm", alg)
		}
		if len(k.Secret) < min {
			return verificationKey{}, fmt.Errorf("%s secret of %d bytes, need at least %d", alg, len(k.Secret), min)
		}
		if strings.Contains(string(k.Secret), pemMarker) {
			// The classic confusion attack needs exactly this configuration.
			return verificationKey{}, errors.New("secret looks like a PEM key: configure it as pem")
		}
		return verificationKey{id: k.ID, alg: alg, key: append([]byte(nil), k.Secret...)}, nil
	case len(k.PEM) > 0:
		pub, err := parsePublicPEM(k.PEM)
		if err != nil {
			return verificationKey{}, err
		}
		return bindPublic(k.ID, k.Algorithm, pub)
	}
	return verificationKey{}, errors.New("neither secret nor pem set")
}

// parsePublicPEM reads the first PEM block of b as a public key.
func parsePublicPEM(b []byte) (any, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, fmt.Errorf("PEM block %q is a private key: configure the public key only", block.Type)
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
}

// bindPublic binds a public key to its algorithm, checking that they fit.
func bindPublic(id, alg string, pub any) (verificationKey, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if alg == "" {
			alg = defaultRSAAlg
		}
		if !rsaAlgs[alg] {
			return verificationKey{}, fmt.Errorf("algorithm %q does not fit an RSA key", alg)
		}
		if p.N.BitLen() < minRSABits {
			return verificationKey{}, fmt.Errorf("RSA key of %d bits, need at least %d", p.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		want, ok := ecAlg[curveName(p.Curve)]
		if !ok {
			return verificationKey{}, errors.New("EC key on an unsupported curve")
		}
		if alg == "" {
			alg = want
		}
		if alg != want {
			return verificationKey{}, fmt.Errorf("algorithm %q does not fit a %s key (use %s)", alg, curveName(p.Curve), want)
		}
	case ed25519.PublicKey:
		if alg == "" {
			alg = defaultEdDSAAlg
		}
		if alg != defaultEdDSAAlg {
			return verificationKey{}, fmt.Errorf("algorithm %q does not fit an Ed25519 key", alg)
		}
	default:
		return verificationKey{}, fmt.Errorf("unsupported public key type %T", pub)
	}
	return verificationKey{id: id, alg: alg, key: pub}, nil
}

func curveName(c elliptic.Curve) string {
	switch c {
	case elliptic.P256():
		return "P-256"
	case elliptic.P384():
		return "P-384"
	case elliptic.P521():
		return "P-521"
	}
	return "unknown"
}
