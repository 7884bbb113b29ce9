package codec

// headPhase is where a HeadScanner stands in the request head grammar.
type headPhase uint8

const (
	headLead        headPhase = iota // the CR of an empty line before the request-line, or the method
	headLeadLF                       // the LF of such an empty line
	headMethod                       // method token, up to SP
	headTargetStart                  // the first byte of the request-target
	headTarget                       // origin-form, up to SP
	headAsterisk                     // the SP after "*"
	headVersion                      // "HTTP/d.d" CRLF, byte by byte
	headLineStart                    // a field line, or the CR of the final CRLF
	headName                         // field name, up to ':'
	headOWS                          // white space before the field value
	headValue                        // field value, up to CR
	headLineLF                       // the LF ending a field line
	headEndLF                        // the LF of the final CRLF
	headDecided                      // ParseRequest no longer needs more
)

// HeadScanner tells, as a request head arrives in pieces, when ParseRequest
// will stop answering ErrNeedMore, so that a head sent a byte at a time is
// parsed once when it is decided rather than once per read: the scan keeps
// its place between calls, and examines each byte once.
//
// It applies ParseRequest's rules byte for byte (the same per-byte checks,
// the same limits, the checks a completed field line allows), so it reports
// a decision at exactly the first prefix on which ParseRequest returns a
// result or an error; ParseRequest then gives that result. The checks that
// need the whole head are left to that call.
//
// The zero value is ready for a new head; Reset makes a used one ready.
type HeadScanner struct {
	pos         int // bytes of the head examined so far, all valid
	phase       headPhase
	version     uint8 // bytes of the HTTP-version matched
	headers     int   // field lines completed
	methodStart int
	methodEnd   int
	targetStart int
	lineStart   int
	colon       int
	valueStart  int
	valueEnd    int
	major       byte
	minor       byte
	st          headState
	// req holds what the completed field lines set (Content-Length), for
	// the checks note makes on the next ones.
	req Request
}

// Reset prepares s for a new head.
func (s *HeadScanner) Reset() {
	headers := s.req.Headers[:0]
	*s = HeadScanner{}
	s.req.Headers = headers
}

// Scan examines the bytes of in it has not seen and reports whether
// ParseRequest(in, r, lim) now returns something other than ErrNeedMore.
// in must hold the head from its first byte on every call, the bytes seen
// before unchanged, with new ones appended; lim must not change.
func (s *HeadScanner) Scan(in []byte, lim Limits) (decided bool) {
	if s.phase == headDecided {
		return true
	}
	if s.pos == 0 {
		s.req.Reset()
	}
	maxHead, maxHeaders, maxTarget := lim.withDefaults()
	// Like ParseRequest, never look past maxHead bytes: a head that is not
	// over by then is too large, and so decided.
	end := min(len(in), maxHead)
	for s.pos < end {
		c := in[s.pos]
		switch s.phase {
		case headLead:
			// RFC 9112 §2.2: empty lines before the request-line.
			if c == '\r' {
				s.phase = headLeadLF
				s.pos++
				continue
			}
			s.methodStart = s.pos
			s.phase = headMethod
			continue
		case headLeadLF:
			if c != '\n' {
				return s.decide()
			}
			s.phase = headLead
		case headMethod:
			if c == ' ' {
				if s.pos == s.methodStart {
					return s.decide()
				}
				s.methodEnd = s.pos
				s.phase = headTargetStart
			} else if !tokenTable[c] {
				return s.decide()
			}
		case headTargetStart:
			switch {
			case c == '/':
				s.targetStart = s.pos
				s.phase = headTarget
				continue
			case c == '*' && string(in[s.methodStart:s.methodEnd]) == "OPTIONS":
				s.phase = headAsterisk
			default:
				return s.decide()
			}
		case headTarget:
			if c == ' ' {
				s.phase = headVersion
				break
			}
			if !targetTable[c] || s.pos-s.targetStart+1 > maxTarget {
				return s.decide()
			}
		case headAsterisk:
			if c != ' ' {
				return s.decide()
			}
			s.phase = headVersion
		case headVersion:
			const proto = "HTTP/1.1\r\n"
			switch k := s.version; {
			case k == 5 || k == 7:
				if c < '0' || c > '9' {
					return s.decide()
				}
				if k == 5 {
					s.major = c
				} else {
					s.minor = c
				}
			case c != proto[k]:
				return s.decide()
			}
			if s.version++; s.version == uint8(len(proto)) {
				if s.major != '1' || s.minor > '1' {
					return s.decide() // 505
				}
				s.phase = headLineStart
			}
		case headLineStart:
			switch {
			case c == '\r':
				s.phase = headEndLF
			case c == ' ' || c == '\t':
				return s.decide() // obs-fold, or space before the first field
			case s.headers >= maxHeaders:
				return s.decide()
			default:
				s.lineStart = s.pos
				s.phase = headName
				continue
			}
		case headName:
			if c == ':' {
				if s.pos == s.lineStart {
					return s.decide()
				}
				s.colon = s.pos
				s.phase = headOWS
			} else if !tokenTable[c] {
				return s.decide()
			}
		case headOWS:
			if !isOWS(c) {
				s.valueStart = s.pos
				s.phase = headValue
				continue
			}
		case headValue:
			if c == '\r' {
				s.valueEnd = s.pos
				s.phase = headLineLF
			} else if !valueTable[c] {
				return s.decide()
			}
		case headLineLF:
			if c != '\n' {
				return s.decide()
			}
			end := s.valueEnd
			for end > s.valueStart && isOWS(in[end-1]) {
				end--
			}
			s.headers++
			// The same checks a completed field line triggers in
			// ParseRequest (one Host, one valid Content-Length).
			if err := s.req.note(&s.st, in[s.lineStart:s.colon], in[s.valueStart:end]); err != nil {
				return s.decide()
			}
			s.phase = headLineStart
		case headEndLF:
			// The head is complete, or the final CRLF is broken: either
			// way ParseRequest has its answer.
			return s.decide()
		}
		s.pos++
	}
	if s.pos >= maxHead {
		return s.decide() // 431
	}
	return false
}

func (s *HeadScanner) decide() bool {
	s.phase = headDecided
	return true
}
