package protocol

// The bodies of the backend API's publish calls (docs/PROTOCOL.md,
// "Backend API"), decoded in one strict pass like a client message: the
// envelope's fields picked as they go by, data validated and compacted on
// the way, no encoding/json first and a compaction after it.

// APIPublish is a decoded POST /api/publish body. Strings and Data are
// owned (they alias nothing of the body).
type APIPublish struct {
	Channel  string
	Channels []string
	User     string   // that user's personal channel
	Users    []string // each user's personal channel
	Data     []byte   // compact JSON, never null
	// FromUser and FromClient publish on behalf of a user (HasFrom: the
	// body had a from object).
	FromUser, FromClient string
	HasFrom              bool
	IdempotencyKey       string
	Conversation         string
}

// APIDM is a decoded POST /api/dm body.
type APIDM struct {
	From, To       string
	Data           []byte // compact JSON, never null
	IdempotencyKey string
}

// APILimits bound what the API decoders accept. The zero value selects
// DefaultMaxDepth and no bound on list lengths (the body's size bounds
// them).
type APILimits struct {
	MaxDepth int // nesting of data and of ignored fields
	MaxList  int // elements of channels or users; more: ErrBadMessage
}

// ParseAPIPublish decodes a publish body into p. The rules: the body is
// one JSON object (ErrBadMessage otherwise, and for a value of the wrong
// type: channel, user, idempotency_key and conversation strings; channels
// and users arrays of strings; from an object of strings user and client);
// keys match exactly and unknown ones are ignored after their values are
// checked; null means absent; data is present and not null (ErrMissingData)
// and valid data (ErrInvalidUTF8, ErrTooDeep, ErrNumberRange, or
// ErrBadMessage for its syntax). What the fields must contain (channel
// names, user ids, sizes) the server checks.
func (l APILimits) ParseAPIPublish(b []byte, p *APIPublish) error {
	*p = APIPublish{}
	d := l.decoder(b)
	err := d.object(publishKeys, func(key, i int) (int, error) {
		switch key {
		case 0:
			return d.str(i, &p.Channel)
		case 1:
			return d.strings(i, &p.Channels)
		case 2:
			return d.str(i, &p.User)
		case 3:
			return d.strings(i, &p.Users)
		case 4:
			return d.data(i, &p.Data)
		case 5:
			return d.str(i, &p.IdempotencyKey)
		case 6:
			return d.str(i, &p.Conversation)
		case 7:
			p.FromUser, p.FromClient, p.HasFrom = "", "", false
			if d.isNull(i) {
				return d.skip(i)
			}
			p.HasFrom = true
			return d.objectAt(i, fromKeys, func(key, i int) (int, error) {
				switch key {
				case 0:
					return d.str(i, &p.FromUser)
				case 1:
					return d.str(i, &p.FromClient)
				}
				return d.skip(i)
			})
		}
		return d.skip(i)
	})
	return d.finish(err, p.Data)
}

// ParseAPIDM decodes a DM body into m, by ParseAPIPublish's rules: from,
// to and idempotency_key strings, data present.
func (l APILimits) ParseAPIDM(b []byte, m *APIDM) error {
	*m = APIDM{}
	d := l.decoder(b)
	err := d.object(dmKeys, func(key, i int) (int, error) {
		switch key {
		case 0:
			return d.str(i, &m.From)
		case 1:
			return d.str(i, &m.To)
		case 2:
			return d.data(i, &m.Data)
		case 3:
			return d.str(i, &m.IdempotencyKey)
		}
		return d.skip(i)
	})
	return d.finish(err, m.Data)
}

// The keys each object knows, in the order its member switch numbers
// them.
var (
	publishKeys = []string{"channel", "channels", "user", "users", "data", "idempotency_key", "conversation", "from"}
	fromKeys    = []string{"user", "client"}
	dmKeys      = []string{"from", "to", "data", "idempotency_key"}
)

// decoder returns a decoder of body b under l.
func (l APILimits) decoder(b []byte) apiDecoder {
	return apiDecoder{s: jsonScanner{src: b}, depth: clampDepth(l.MaxDepth), maxList: l.MaxList}
}

// apiDecoder walks one API body.
type apiDecoder struct {
	s       jsonScanner
	depth   int
	maxList int
	badType bool
}

// finish turns the walk's outcome into the documented error.
func (d *apiDecoder) finish(err error, data []byte) error {
	switch {
	case err == ErrInvalidUTF8 || err == ErrTooDeep || err == ErrNumberRange:
		return err
	case err != nil || d.badType:
		return ErrBadMessage
	case data == nil:
		return ErrMissingData
	}
	return nil
}

// object walks the top-level object, which must be the whole body.
func (d *apiDecoder) object(keys []string, member func(key, i int) (int, error)) error {
	i, err := d.objectAt(d.s.space(0), keys, member)
	if err != nil {
		return err
	}
	if d.s.space(i) != len(d.s.src) {
		return ErrInvalidJSON
	}
	return nil
}

// objectAt walks the object whose '{' is at i, calling member with the
// index in keys of each member's key (-1 for an unknown one) and the index
// of its value; member returns the index after the value.
func (d *apiDecoder) objectAt(i int, keys []string, member func(key, i int) (int, error)) (int, error) {
	s, src := &d.s, d.s.src
	if i >= len(src) || src[i] != '{' {
		d.badType = true
		return d.skip(i)
	}
	if i = s.space(i + 1); i < len(src) && src[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(src) || src[i] != '"' {
			return i, ErrInvalidJSON
		}
		end, err := s.str(i)
		if err != nil {
			return end, err
		}
		key := -1
		var kb [16]byte // every known key is shorter
		if raw := src[i+1 : end-1]; unquotedLen(raw) <= len(kb) {
			name := appendUnquoted(kb[:0], raw)
			for k := range keys {
				if string(name) == keys[k] {
					key = k
				}
			}
		}
		if i = s.space(end); i >= len(src) || src[i] != ':' {
			return i, ErrInvalidJSON
		}
		if i, err = member(key, s.space(i+1)); err != nil {
			return i, err
		}
		if i = s.space(i); i < len(src) && src[i] == ',' {
			i = s.space(i + 1)
			continue
		}
		if i >= len(src) || src[i] != '}' {
			return i, ErrInvalidJSON
		}
		return i + 1, nil
	}
}

// skip checks the value at i and returns the index after it.
func (d *apiDecoder) skip(i int) (int, error) { return d.s.value(i, d.depth) }

func (d *apiDecoder) isNull(i int) bool {
	src := d.s.src
	return i < len(src) && src[i] == 'n'
}

// str decodes the string at i into dst (null: ""); another type is noted.
func (d *apiDecoder) str(i int, dst *string) (int, error) {
	*dst = ""
	src := d.s.src
	if i < len(src) && src[i] == '"' {
		end, err := d.s.str(i)
		if err == nil {
			*dst = string(appendUnquoted(nil, src[i+1:end-1]))
		}
		return end, err
	}
	if !d.isNull(i) {
		d.badType = true
	}
	return d.skip(i)
}

// strings decodes the array of strings at i into dst (null: nil).
func (d *apiDecoder) strings(i int, dst *[]string) (int, error) {
	*dst = nil
	s, src := &d.s, d.s.src
	if i >= len(src) || src[i] != '[' {
		if !d.isNull(i) {
			d.badType = true
		}
		return d.skip(i)
	}
	if i = s.space(i + 1); i < len(src) && src[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(src) || src[i] != '"' {
			d.badType = true
			return i, ErrInvalidJSON // an array of strings only: nothing else is read on
		}
		if d.maxList > 0 && len(*dst) >= d.maxList {
			return i, ErrInvalidJSON
		}
		var v string
		end, err := d.str(i, &v)
		if err != nil {
			return end, err
		}
		*dst = append(*dst, v)
		if i = s.space(end); i < len(src) && src[i] == ',' {
			i = s.space(i + 1)
			continue
		}
		if i >= len(src) || src[i] != ']' {
			return i, ErrInvalidJSON
		}
		return i + 1, nil
	}
}

// data checks the value at i and keeps it compact in dst (null: nil).
func (d *apiDecoder) data(i int, dst *[]byte) (int, error) {
	*dst = nil
	before := d.s.ws
	end, err := d.skip(i)
	if err != nil || d.isNull(i) {
		return end, err
	}
	v := d.s.src[i:end]
	out := make([]byte, 0, len(v)-(d.s.ws-before))
	if d.s.ws == before {
		out = append(out, v...)
	} else {
		out = appendStripped(out, v)
	}
	*dst = out
	return end, nil
}
