package codec

import (
	"compress/flate"
	"io"
	"sync"
)

// inflateTail follows a compressed message into the decompressor: the
// four bytes RFC 7692 §7.2.2 says to append (completing the sender's
// sync flush), then a final empty stored block, so that a well-formed
// message ends with io.EOF and a truncated one with an error, instead of
// every message ending in io.ErrUnexpectedEOF.
const inflateTail = deflateTail + "\x01\x00\x00\xff\xff"

// inflater is a pooled decompressor with its input. It holds a 32 KiB
// window and the Huffman tables, about 44 KiB, only while one message is
// being inflated: connections keep no inflate state between messages
// because the server always answers client_no_context_takeover.
type inflater struct {
	r     io.ReadCloser // a flate decompressor, also a flate.Resetter
	src   inflateSource
	probe [1]byte // reads one byte past the limit, here so it need not escape
}

// inflateSource reads a compressed message and then inflateTail. It is an
// io.ByteReader so that flate reads it directly rather than through a
// bufio.Reader it would allocate.
type inflateSource struct {
	msg  []byte
	tail int // bytes of inflateTail already read
}

func (s *inflateSource) Read(p []byte) (int, error) {
	n := copy(p, s.msg)
	s.msg = s.msg[n:]
	m := copy(p[n:], inflateTail[s.tail:])
	s.tail += m
	if n+m == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n + m, nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	if len(s.msg) > 0 {
		c := s.msg[0]
		s.msg = s.msg[1:]
		return c, nil
	}
	if s.tail < len(inflateTail) {
		c := inflateTail[s.tail]
		s.tail++
		return c, nil
	}
	return 0, io.EOF
}

var inflaters = sync.Pool{New: func() any {
	f := new(inflater)
	f.r = flate.NewReader(&f.src)
	return f
}}

// AppendInflate appends the payload that compressed, a permessage-deflate
// message without context takeover (every data frame's payload of the
// message, concatenated), inflates to (RFC 7692 §7.2.2). At most limit
// bytes are appended, and dst never grows past len(dst)+limit: a message
// that inflates to more fails with ErrInflateTooLarge (close 1009) as soon
// as its limit+1st byte appears, however small it was compressed (a zip
// bomb costs at most limit bytes). Data that is not valid DEFLATE, or
// that ends inside a block, fails with ErrBadDeflate (close 1007). On
// error, dst holds what was inflated so far.
func AppendInflate(dst, compressed []byte, limit int) ([]byte, error) {
	f := inflaters.Get().(*inflater)
	f.src = inflateSource{msg: compressed}
	defer func() {
		f.src.msg = nil // the pool must not keep the caller's data
		inflaters.Put(f)
	}()
	// Reset cannot fail on a reader that is an io.ByteReader.
	_ = f.r.(flate.Resetter).Reset(&f.src, nil)

	end := len(dst) + max(limit, 0)
	for {
		if len(dst) == end {
			// At the limit: one byte more and the message is too large.
			n, err := f.r.Read(f.probe[:])
			switch {
			case n > 0:
				return dst, ErrInflateTooLarge
			case err == io.EOF:
				return dst, nil
			case err != nil:
				return dst, ErrBadDeflate
			}
			continue
		}
		if len(dst) == cap(dst) {
			dst = growInflate(dst, end, len(compressed))
		}
		n, err := f.r.Read(dst[len(dst):min(cap(dst), end)])
		dst = dst[:len(dst)+n]
		switch {
		case err == io.EOF:
			return dst, nil
		case err != nil:
			// The input is in memory, so every error the decompressor
			// reports is about the data: corrupt, or cut off in a block.
			return dst, ErrBadDeflate
		}
	}
}

// growInflate makes room in dst for more inflated bytes, never past end.
// The first guess is four times the compressed size, a common ratio for
// text; then the capacity doubles, so a large message is copied about once.
func growInflate(dst []byte, end, compressedLen int) []byte {
	grown := max(2*cap(dst), len(dst)+4*compressedLen, len(dst)+512)
	grown = min(grown, end)
	return append(make([]byte, 0, grown), dst...)
}
