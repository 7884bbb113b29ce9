package brokertest

import "unsafe"

// unsafeString views b as a string, as a node does when it passes a
// channel name straight from a request buffer.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
