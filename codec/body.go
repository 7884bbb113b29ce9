package codec

// maxChunkLine bounds one chunk-size line including its extensions. Like
// net/http's chunked reader, it stops a peer from making us scan an
// endless extension that carries no data.
const maxChunkLine = 4096

// chunkedState is where a ChunkedDecoder stands in the grammar.
type chunkedState uint8

const (
	chunkSize         chunkedState = iota // hex digits of a chunk-size
	chunkExt                              // after the size: BWS, extensions, up to CR
	chunkSizeLF                           // the LF ending the size line
	chunkData                             // chunk-data bytes
	chunkDataCR                           // the CR after chunk-data
	chunkDataLF                           // the LF after chunk-data
	chunkTrailer                          // the start of a trailer line, or the final CRLF
	chunkTrailerName                      // a trailer field name, up to ':'
	chunkTrailerValue                     // a trailer field value, up to CR
	chunkTrailerLF                        // the LF ending a trailer line
	chunkEndLF                            // the LF of the final CRLF
	chunkDone                             // the body is complete
	chunkFailed                           // an error was returned; the decoder is dead
)

// ChunkedDecoder decodes a chunked request body (RFC 9112 §7.1) as it
// arrives, in pieces of any size, in time and memory linear in the body:
// every byte is examined once, the state between pieces is a few words, and
// nothing is copied but the chunk data appended to the caller's slice.
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-size   = 1*HEXDIG
//	last-chunk   = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	trailer-section = *( field-line CRLF )
//
// The rules are strict, each because a leniency is a way for a front proxy
// and this server to disagree about where a body ends:
//   - chunk-size is hex only, at most 16 digits (more could only be an
//     overflow attempt or padding no real client sends), followed by BWS,
//     ';' or CR; "0x5", "5x" and "5 5" are not sizes;
//   - every line ends in CRLF; a bare LF or a CR without LF is an error;
//   - extension bytes must be field-value bytes (no CTL but HTAB) and a
//     size line is at most 4096 bytes; extensions are skipped unparsed;
//   - trailer fields are validated like header fields and skipped (RFC 9110
//     §6.5.1 lets a server give them no meaning); obs-fold is refused;
//   - the decoded size plus extension and trailer bytes may not exceed the
//     maximum, so the bytes a peer can make us scan per decoded byte stay
//     bounded, and a chunk is refused on its declared size, before its data
//     arrives, so the caller can answer 413 without receiving it.
//
// The zero value decodes a body of at most 0 bytes; call Reset first. A
// ChunkedDecoder must not be copied while in use by two owners.
type ChunkedDecoder struct {
	max    int    // the cap on used
	used   int    // data, extension and trailer bytes so far
	size   uint64 // chunk-size being read, then data bytes left in the chunk
	line   int    // bytes of the current size or trailer line so far
	digits uint8  // hex digits of the current chunk-size
	state  chunkedState
}

// Reset prepares d for a new body of at most limit decoded bytes (extension
// and trailer bytes count too). A negative limit is treated as 0.
func (d *ChunkedDecoder) Reset(limit int) {
	*d = ChunkedDecoder{max: max(limit, 0)}
}

// Done reports whether the body's final CRLF was decoded.
func (d *ChunkedDecoder) Done() bool { return d.state == chunkDone }

// Decode consumes the next piece of the body from in, appending its chunk
// data to dst. It returns the bytes of in consumed and dst extended:
//   - done is true once the trailer section's final CRLF is consumed; n then
//     ends the body, and in[n:] is whatever follows it (a pipelined request);
//   - otherwise n is len(in): the piece is absorbed, call again with more;
//   - err is ErrBadRequest (HTTP 400) on a syntax error or ErrBodyTooLarge
//     (HTTP 413) once the body would exceed the maximum; n is then the
//     offset of the offending byte, and the decoder stays failed.
//
// Decoding a body in any number of pieces gives the same data, n total
// and error as decoding it whole, and the verdict on a prefix is reached at
// its first byte that decides it. Calling Decode after done consumes
// nothing.
func (d *ChunkedDecoder) Decode(dst, in []byte) (n int, out []byte, done bool, err error) {
	i := 0
	for i < len(in) {
		c := in[i]
		switch d.state {
		case chunkSize:
			v, ok := unhex(c)
			if ok {
				if d.digits++; d.digits > 16 {
					return d.fail(dst, i, ErrBadRequest)
				}
				d.size = d.size<<4 | uint64(v)
				d.line++
				i++
				continue
			}
			if d.digits == 0 || (c != '\r' && c != ';' && !isOWS(c)) {
				return d.fail(dst, i, ErrBadRequest)
			}
			d.state = chunkExt
		case chunkExt:
			if c == '\r' {
				d.state = chunkSizeLF
				i++
				continue
			}
			// CTLs other than HTAB, including a bare LF, are syntax errors;
			// extension content is otherwise skipped unparsed.
			if !valueTable[c] || d.line >= maxChunkLine {
				return d.fail(dst, i, ErrBadRequest)
			}
			d.used++
			d.line++
			i++
		case chunkSizeLF:
			if c != '\n' {
				return d.fail(dst, i, ErrBadRequest)
			}
			if d.used > d.max {
				return d.fail(dst, i, ErrBodyTooLarge)
			}
			i++
			d.line, d.digits = 0, 0
			if d.size == 0 {
				d.state = chunkTrailer
				continue
			}
			// Refuse on the declared size, before the data arrives.
			if d.size > uint64(d.max-d.used) {
				return d.fail(dst, i-1, ErrBodyTooLarge)
			}
			d.used += int(d.size)
			d.state = chunkData
		case chunkData:
			k := len(in) - i
			if uint64(k) > d.size {
				k = int(d.size)
			}
			dst = append(dst, in[i:i+k]...)
			i += k
			if d.size -= uint64(k); d.size == 0 {
				d.state = chunkDataCR
			}
		case chunkDataCR, chunkDataLF:
			want := byte('\r')
			if d.state == chunkDataLF {
				want = '\n'
			}
			if c != want {
				return d.fail(dst, i, ErrBadRequest)
			}
			i++
			if d.state == chunkDataCR {
				d.state = chunkDataLF
			} else {
				d.state = chunkSize
			}
		case chunkTrailer:
			if c == '\r' {
				d.state = chunkEndLF
				i++
				continue
			}
			d.state = chunkTrailerName
		case chunkTrailerName, chunkTrailerValue:
			// field-line = field-name ":" OWS field-value OWS; each byte
			// is checked as it comes, so any prefix fails as the whole.
			if c == '\r' {
				if d.state == chunkTrailerName {
					// A line without ':' is not a field line; say so at
					// its LF, as a whole-body parse would.
					d.line = -1
				}
				d.state = chunkTrailerLF
				i++
				continue
			}
			switch {
			case d.state == chunkTrailerValue:
				if !valueTable[c] {
					return d.fail(dst, i, ErrBadRequest)
				}
			case c == ':':
				if d.line == 0 {
					return d.fail(dst, i, ErrBadRequest)
				}
				d.state = chunkTrailerValue
			case !tokenTable[c]:
				return d.fail(dst, i, ErrBadRequest)
			}
			if d.used+d.line+1 > d.max {
				return d.fail(dst, i, ErrBodyTooLarge)
			}
			d.line++
			i++
		case chunkTrailerLF:
			if c != '\n' || d.line < 0 {
				return d.fail(dst, i, ErrBadRequest)
			}
			d.used += d.line
			d.line = 0
			d.state = chunkTrailer
			i++
		case chunkEndLF:
			if c != '\n' {
				return d.fail(dst, i, ErrBadRequest)
			}
			d.state = chunkDone
			return i + 1, dst, true, nil
		case chunkDone:
			return 0, dst, true, nil
		default: // chunkFailed
			return 0, dst, false, ErrBadRequest
		}
	}
	switch d.state {
	case chunkDone:
		return 0, dst, true, nil
	case chunkFailed:
		return 0, dst, false, ErrBadRequest
	}
	return i, dst, false, nil
}

func (d *ChunkedDecoder) fail(dst []byte, i int, err error) (int, []byte, bool, error) {
	d.state = chunkFailed
	return i, dst, false, err
}
