package redis

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// Read implements inbox.Store: one read-only script reads the state and
// the page in one snapshot, so the seqs it returns and the state agree.
func (s *Store) Read(ctx context.Context, user string, after uint64, limit int) (inbox.Page, error) {
	if err := checkUser(user); err != nil {
		return inbox.Page{}, err
	}
	if err := s.enter("read"); err != nil {
		return inbox.Page{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return inbox.Page{}, err
	}
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	keys := s.userKeys(nil, user)
	arr, err := readScript.exec(ctx, s.client, keys[keyMeta:keyLog+1],
		[]string{strconv.FormatUint(after, 10), strconv.Itoa(s.pageLimit(limit)), s.argPageBytes}).ToArray()
	if err != nil {
		return inbox.Page{}, s.fail("read", caller, err)
	}
	p := inbox.Page{Next: after, State: emptyState()}
	if len(arr) == 0 {
		return p, nil
	}
	if len(arr) < stateFields {
		return inbox.Page{}, corrupt("read", "short reply")
	}
	if p.State, err = parseState(arr[:stateFields]); err != nil {
		return inbox.Page{}, corrupt("read", "meta of "+user)
	}
	st := &p.State
	start := after + 1
	if removed := st.Oldest - 1; after < removed {
		p.Gap = removed - after
		p.Next = removed
		start = st.Oldest
	}
	raw := arr[stateFields:]
	if p.Entries, err = decodeEntries(raw, start); err != nil {
		return inbox.Page{}, corrupt("read", "entry of "+user)
	}
	if len(raw) > 0 {
		p.Next = start + uint64(len(raw)) - 1
	}
	p.More = p.Next < st.Top
	return p, nil
}

// State implements inbox.Store: one HMGET of the meta hash.
func (s *Store) State(ctx context.Context, user string) (inbox.State, error) {
	if err := checkUser(user); err != nil {
		return inbox.State{}, err
	}
	if err := s.enter("state"); err != nil {
		return inbox.State{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return inbox.State{}, err
	}
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	arr, err := s.client.Do(ctx, s.stateCommand(user)).ToArray()
	if err != nil {
		return inbox.State{}, s.fail("state", caller, err)
	}
	return stateOf(arr, user)
}

// stateCommand reads a user's state: the meta fields parseState takes.
func (s *Store) stateCommand(user string) rueidis.Completed {
	return s.client.B().Hmget().Key(s.userKeys(nil, user)[keyMeta]).Field("e", "t", "o", "b", "n", "c", "u").Build()
}

// stateOf is the state stateCommand's reply describes: the empty state
// for a user with no log.
func stateOf(arr []rueidis.RedisMessage, user string) (inbox.State, error) {
	if len(arr) != stateFields {
		return inbox.State{}, corrupt("state", "reply of "+strconv.Itoa(len(arr)))
	}
	if arr[0].IsNil() {
		return emptyState(), nil
	}
	st, err := parseState(arr)
	if err != nil {
		return inbox.State{}, corrupt("state", "meta of "+user)
	}
	return st, nil
}

// stateFields is how many meta fields a state takes: e t o b n c u.
const stateFields = 7

// emptyState is the state of a user with no log.
func emptyState() inbox.State { return inbox.State{Oldest: 1} }

func parseState(f []rueidis.RedisMessage) (inbox.State, error) {
	var v [stateFields]uint64
	for i := range v {
		str, err := f[i].ToString()
		if err != nil {
			return inbox.State{}, err
		}
		if v[i], err = strconv.ParseUint(str, 10, 64); err != nil {
			return inbox.State{}, err
		}
	}
	if v[2] == 0 || v[2] > v[1]+1 {
		return inbox.State{}, inbox.ErrCorrupt
	}
	return inbox.State{
		Epoch: v[0], Top: v[1], Oldest: v[2], Bytes: v[3], Dropped: v[2] - 1, Unread: v[4],
		Created: time.UnixMicro(int64(v[5])), Updated: time.UnixMicro(int64(v[6])),
	}, nil
}

// An entry as stored: 16 digits of time in µs, then conversation, from,
// from device and key, each followed by a space, then the payload.
const entryTimeLen = 16

// decodeEntries copies the stored entries out of the reply, the first
// with seq start, in two allocations beside the slice: one string for
// every entry's ids, which the entries' strings slice, and one array for
// every payload, which their Payloads slice with their capacity capped,
// so that appending to one never writes over the next.
func decodeEntries(raw []rueidis.RedisMessage, start uint64) ([]inbox.Entry, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	type parsed struct {
		time          int64
		ids           string // conv ' ' from ' ' device ' ' key
		lens          [4]int
		payload       string
		payloadOffset int
	}
	ps := make([]parsed, len(raw))
	idBytes, payloadBytes := 0, 0
	for i := range raw {
		e, err := raw[i].ToString()
		if err != nil || len(e) < entryTimeLen+5 || e[entryTimeLen] != ' ' {
			return nil, inbox.ErrCorrupt
		}
		t, err := strconv.ParseInt(e[:entryTimeLen], 10, 64)
		if err != nil {
			return nil, inbox.ErrCorrupt
		}
		rest := e[entryTimeLen+1:]
		p := parsed{time: t}
		off := 0
		for f := range p.lens {
			j := strings.IndexByte(rest[off:], ' ')
			if j < 0 {
				return nil, inbox.ErrCorrupt
			}
			p.lens[f] = j
			off += j + 1
		}
		p.ids, p.payload = rest[:off], rest[off:]
		idBytes += off - 4
		payloadBytes += len(p.payload)
		ps[i] = p
	}
	var ids strings.Builder
	ids.Grow(idBytes)
	payloads := make([]byte, 0, payloadBytes)
	for i := range ps {
		p := &ps[i]
		off := 0
		for f, l := range p.lens {
			ids.WriteString(p.ids[off : off+l])
			off += l + 1
			p.lens[f] = ids.Len() // now the end of the field in ids
		}
		p.payloadOffset = len(payloads)
		payloads = append(payloads, p.payload...)
	}
	// The builder did not reallocate (Grow reserved it all): its string is
	// the one allocation.
	all := ids.String()
	out := make([]inbox.Entry, len(ps))
	prev := 0
	for i := range ps {
		p := &ps[i]
		end := p.payloadOffset + len(p.payload)
		out[i] = inbox.Entry{
			Seq:          start + uint64(i),
			Time:         time.UnixMicro(p.time),
			Conversation: all[prev:p.lens[0]],
			From:         all[p.lens[0]:p.lens[1]],
			FromDevice:   all[p.lens[1]:p.lens[2]],
			Key:          all[p.lens[2]:p.lens[3]],
			Payload:      payloads[p.payloadOffset:end:end],
		}
		prev = p.lens[3]
	}
	return out, nil
}

func corrupt(op, what string) error {
	return &corruptError{op: op, what: what}
}

// corruptError is ErrCorrupt with what could not be read.
type corruptError struct{ op, what string }

func (e *corruptError) Error() string { return "inbox/redis: " + e.op + ": corrupt record: " + e.what }

func (e *corruptError) Unwrap() error { return inbox.ErrCorrupt }
