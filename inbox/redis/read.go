package redis

import (
	"context"
	"strconv"

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
		[]string{strconv.FormatUint(after, 10), strconv.Itoa(s.pageLimit(limit)), s.argPageBytes}).AsStrSlice()
	if err != nil {
		return inbox.Page{}, s.fail("read", caller, err)
	}
	p := inbox.Page{Next: after, State: emptyState()}
	if len(arr) == 0 {
		return p, nil
	}
	var ok bool
	if len(arr) < 2 {
		return inbox.Page{}, corrupt("read", "short reply")
	}
	if p.State, ok = parseState(arr[0], arr[1]); !ok {
		return inbox.Page{}, corrupt("read", "state of "+user)
	}
	st := &p.State
	start := after + 1
	if removed := st.Oldest - 1; after < removed {
		p.Gap = removed - after
		p.Next = removed
		start = st.Oldest
	}
	raw := arr[2:]
	if p.Entries, ok = decodeEntries(raw, start); !ok {
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

// stateCommand reads a user's epoch and state.
func (s *Store) stateCommand(user string) rueidis.Completed {
	return s.client.B().Hmget().Key(s.userKeys(nil, user)[keyMeta]).Field("e", "s").Build()
}

// stateOf is the state stateCommand's reply describes: the empty state
// for a user with no log.
func stateOf(arr []rueidis.RedisMessage, user string) (inbox.State, error) {
	if len(arr) != 2 {
		return inbox.State{}, corrupt("state", "reply of "+strconv.Itoa(len(arr)))
	}
	if arr[0].IsNil() {
		return emptyState(), nil
	}
	epoch, err1 := arr[0].ToString()
	rec, err2 := arr[1].ToString()
	st, ok := parseState(epoch, rec)
	if err1 != nil || err2 != nil || !ok {
		return inbox.State{}, corrupt("state", "state of "+user)
	}
	return st, nil
}

// emptyState is the state of a user with no log.
func emptyState() inbox.State { return inbox.State{Oldest: 1} }

func corrupt(op, what string) error {
	return &corruptError{op: op, what: what}
}

// corruptError is ErrCorrupt with what could not be read.
type corruptError struct{ op, what string }

func (e *corruptError) Error() string { return "inbox/redis: " + e.op + ": corrupt record: " + e.what }

func (e *corruptError) Unwrap() error { return inbox.ErrCorrupt }
