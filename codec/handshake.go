package codec

import (
	"crypto/sha1"
	"encoding/base64"
)

// wsGUID is the fixed GUID of RFC 6455 §1.3 hashed with the client's key.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// CheckUpgrade validates a parsed request as a WebSocket opening handshake
// and returns the Sec-WebSocket-Key (aliasing r).
// Method must be GET and version HTTP/1.1 (else ErrBadUpgrade); r.Upgrade
// false -> ErrNotUpgrade; Sec-WebSocket-Version must be "13" (missing/other
// -> ErrBadWSVersion); Sec-WebSocket-Key must be base64 of exactly 16 bytes
// (else ErrBadUpgrade).
//
// RFC 6455 §4.2.1 lists these requirements; a repeated version field is
// ErrBadWSVersion and a repeated key ErrBadUpgrade. Origin is not checked here:
// that is policy, and belongs to the caller.
func CheckUpgrade(r *Request) (key []byte, err error) {
	if string(r.Method) != "GET" || r.Minor != 1 {
		return nil, ErrBadUpgrade
	}
	if !r.Upgrade {
		return nil, ErrNotUpgrade
	}
	// RFC 6455 §11.3.1 and §11.3.5: each field appears at most once. A
	// repeated key or version is refused rather than resolved by picking
	// one, as an intermediary might pick the other.
	var version []byte
	versions, keys := 0, 0
	for i := range r.Headers {
		h := &r.Headers[i]
		switch {
		case equalFold(h.Name, "Sec-WebSocket-Version"):
			versions++
			version = h.Value
		case equalFold(h.Name, "Sec-WebSocket-Key"):
			keys++
			key = h.Value
		}
	}
	// RFC 6455 §4.2.2: answer an unknown version with 426 and the
	// versions we speak, never by guessing.
	if versions != 1 || string(version) != "13" {
		return nil, ErrBadWSVersion
	}
	if keys != 1 || !validKey(key) {
		return nil, ErrBadUpgrade
	}
	return key, nil
}

// validKey reports whether key is the canonical base64 encoding of 16
// bytes (RFC 6455 §4.1): 22 alphabet characters, the last carrying no
// stray bits, then "==". Checking by hand avoids encoding/base64's habit
// of skipping CR and LF and needs no decode buffer.
func validKey(key []byte) bool {
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	for _, c := range key[:22] {
		if b64Value(c) < 0 {
			return false
		}
	}
	// 16 bytes = 128 bits = 21 characters plus 2 bits; the final
	// character's low 4 bits must be zero.
	return b64Value(key[21])&0x0f == 0
}

// b64Value returns the 6-bit value of a standard base64 character, or -1.
func b64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// AppendAcceptKey appends the Sec-WebSocket-Accept value for key to dst:
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) (RFC 6455
// §4.2.2). It does not allocate for keys of up to 92 bytes, which covers
// every valid key.
func AppendAcceptKey(dst, key []byte) []byte {
	var buf [128]byte
	var sum [sha1.Size]byte
	if len(key)+len(wsGUID) <= len(buf) {
		n := copy(buf[:], key)
		n += copy(buf[n:], wsGUID)
		sum = sha1.Sum(buf[:n])
	} else {
		// Only reachable when the caller skipped CheckUpgrade.
		sum = sha1.Sum(append(append([]byte(nil), key...), wsGUID...))
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// AppendUpgradeResponse appends the 101 response that completes the
// handshake for key (RFC 6455 §4.2.2).
func AppendUpgradeResponse(dst, key []byte) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = AppendAcceptKey(dst, key)
	return append(dst, "\r\n\r\n"...)
}

// AppendUpgradeResponseDeflate appends the 101 response for key that also
// accepts permessage-deflate as p (RFC 6455 §9.1, RFC 7692 §7.1): the
// AppendUpgradeResponse head with a Sec-WebSocket-Extensions field.
func AppendUpgradeResponseDeflate(dst, key []byte, p DeflateParams) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = AppendAcceptKey(dst, key)
	dst = append(dst, "\r\nSec-WebSocket-Extensions: "...)
	dst = AppendDeflateExtension(dst, p)
	return append(dst, "\r\n\r\n"...)
}
