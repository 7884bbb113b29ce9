package server

// countWrite adds the bytes a transport's write just handed to s's socket
// for m to the loop's plain total (published at the end of the batch).
// It reads what the writers of transport.go leave behind: the shared
// encodings of m, and for SSE and iframes the per-subscriber line built
// in the loop's scratch (TestBytesOutMatchesTheWire checks the sum
// against what clients read). Loop-owned; costs an add.
func (s *session) countWrite(m *message) {
	l := s.loop
	var n int
	switch s.kind {
	case kindSSE:
		n = len(l.iov[0]) + len(l.iov[1])
	case kindIframe:
		n = len(l.line)
	case kindStream:
		n = len(m.streamChunk())
	default:
		n = len(m.frame)
	}
	l.stats.sent += int64(n)
}
