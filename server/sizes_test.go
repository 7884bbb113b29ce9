package server

import (
	"testing"
	"unsafe"

	"github.com/comet-im/comet/conn"
)

// TestConnectionRecordSizes guards what every idle connection costs: each
// record sits at the top of a size class, and one byte more is the next
// class (docs/BENCHMARKS.md, "Idle memory").
func TestConnectionRecordSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"session", unsafe.Sizeof(session{}), 192},
		{"conn.Conn (inside the session)", unsafe.Sizeof(conn.Conn{}), 56},
		{"sessionSub (one per subscription)", unsafe.Sizeof(sessionSub{}), 48},
		{"localChannel (one per channel)", unsafe.Sizeof(localChannel{}), 80},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, want at most %d", c.name, c.size, c.max)
		}
	}
}
