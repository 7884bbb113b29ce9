package redis

import (
	"crypto/sha256"
	"encoding/hex"
)

// numSlots is the number of hash slots of Redis Cluster.
const numSlots = 16384

// crcTable is CRC-16/XMODEM (polynomial 0x1021), the checksum Redis
// Cluster hashes keys with (cluster spec, "Keys distribution model").
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// slotOf returns the hash slot of a key whose hash tag is tag (the
// content of its first {...}).
func slotOf(tag string) uint16 {
	var c uint16
	for i := 0; i < len(tag); i++ {
		c = c<<8 ^ crcTable[byte(c>>8)^tag[i]]
	}
	return c % numSlots
}

// hashKey shortens an over-long idempotency key to a fixed size.
func hashKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	return "#" + hex.EncodeToString(sum[:])
}
