package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// Append implements inbox.Store.
//
// On a single server it is one script over every recipient: atomic, as in
// the embedded store, and every log sees concurrent fan-outs in the same
// order.
//
// In a cluster the recipients' logs are in different slots, which one
// script cannot span: each recipient's append is its own script (atomic
// for that log, the idempotency check included), all of them pipelined
// to their masters at once. The fan-out is then all-or-retry rather than
// all-or-nothing: an error (broker.ErrUnavailable) means some recipients
// may have the entry and others not, and a retry with the same m.Key
// completes it, the recipients that had it answering with their first
// seq and Duplicate set. Without a key a retry stores the entry again for
// those. In between, a reader may see the entry in one recipient's log
// and not yet (or, if nobody retries, never) in another's; and two
// fan-outs to the same recipients may be ordered differently in
// different logs. A connection that died under the call (Redis
// restarting) is retried once by the store itself when the append has a
// key.
func (s *Store) Append(ctx context.Context, to []string, m inbox.Message) ([]inbox.Appended, error) {
	if err := s.checkMessage(to, &m); err != nil {
		return nil, err
	}
	if err := s.enter("append"); err != nil {
		return nil, err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	keys := s.userKeys(make([]string, 0, keysPerUser*len(to)+1), to...)
	args := s.appendArgs(to, &m)
	var seqs []int64
	var epochs []uint64
	var err error
	if s.cfg.Cluster {
		seqs, epochs, err = s.appendEach(ctx, keys, args, to, m.Key != "")
	} else {
		seqs, epochs, err = s.appendAll(ctx, append(keys, s.index), args, m.Key != "")
	}
	if err != nil {
		return nil, s.fail("append", caller, err)
	}
	res := make([]inbox.Appended, len(to))
	var unlisted []string
	for i, u := range to {
		r := seqs[appendInts*i : appendInts*(i+1)]
		res[i] = inbox.Appended{User: u, Seq: uint64(r[0]), Epoch: epochs[i], Duplicate: r[1] == 1, Time: time.UnixMicro(r[3])}
		if r[2] == 0 {
			unlisted = append(unlisted, u)
		}
	}
	s.listUsers(ctx, unlisted)
	return res, nil
}

// appendArgs are the script's arguments (append.lua): the fixed ones, then
// the recipients.
func (s *Store) appendArgs(to []string, m *inbox.Message) []string {
	// The entry after its time, shared by every recipient: one copy of the
	// payload.
	var b strings.Builder
	b.Grow(len(m.Conversation) + len(m.From) + len(m.FromDevice) + len(m.Key) + len(m.Payload) + 4)
	for _, f := range [...]string{m.Conversation, m.From, m.FromDevice, m.Key} {
		b.WriteString(f)
		b.WriteByte(' ')
	}
	b.Write(m.Payload)
	idem := ""
	if m.Key != "" {
		idem = m.From + " " + m.Key
	}
	args := make([]string, 0, appendFixedArgs+len(to))
	args = append(args, s.nowArg(), newEpoch(), m.Conversation, m.From, b.String(), idem, s.argWindow,
		s.argMaxEntries, s.argMaxAge, s.argMaxBytes, s.indexArg, s.argIdemTTL)
	return append(args, to...)
}

// appendFixedArgs is how many of append.lua's arguments precede the
// recipients.
const appendFixedArgs = 12

// appendAll runs one script for every recipient (a single server).
func (s *Store) appendAll(ctx context.Context, keys, args []string, keyed bool) ([]int64, []uint64, error) {
	seqs, epochs, err := appendResults(appendScript.exec(ctx, s.client, keys, args))
	if keyed && retryable(ctx, err) {
		seqs, epochs, err = appendResults(appendScript.exec(ctx, s.client, keys, args))
	}
	if err != nil {
		return nil, nil, err
	}
	if len(epochs) != len(args)-appendFixedArgs {
		return nil, nil, corrupt("append", fmt.Sprintf("%d results for %d recipients", len(epochs), len(args)-appendFixedArgs))
	}
	return seqs, epochs, nil
}

// appendInts is how many integers append.lua answers per recipient: seq,
// duplicate, listed, and the entry's time (µs), before the log's epoch as
// a decimal string (it does not fit Lua's numbers).
const appendInts = 4

// appendResults reads append.lua's answer: per recipient appendInts
// integers and the epoch.
func appendResults(r rueidis.RedisResult) ([]int64, []uint64, error) {
	arr, err := r.ToArray()
	if err != nil {
		return nil, nil, err
	}
	const per = appendInts + 1
	if len(arr)%per != 0 {
		return nil, nil, corrupt("append", fmt.Sprintf("%d results", len(arr)))
	}
	ints := make([]int64, 0, appendInts*len(arr)/per)
	epochs := make([]uint64, 0, len(arr)/per)
	for i := 0; i < len(arr); i += per {
		for j := range appendInts {
			v, err := arr[i+j].AsInt64()
			if err != nil {
				return nil, nil, corrupt("append", err.Error())
			}
			ints = append(ints, v)
		}
		e, err := arr[i+appendInts].ToString()
		if err != nil {
			return nil, nil, corrupt("append", err.Error())
		}
		epoch, err := strconv.ParseUint(e, 10, 64)
		if err != nil || epoch == 0 {
			return nil, nil, corrupt("append", "epoch "+strconv.Quote(e))
		}
		epochs = append(epochs, epoch)
	}
	return ints, epochs, nil
}

// appendEach runs one script per recipient, pipelined (a cluster). It
// fails if any of them failed, after retrying once those whose connection
// died under them when the append has a key.
func (s *Store) appendEach(ctx context.Context, keys, args, to []string, keyed bool) ([]int64, []uint64, error) {
	execs := make([]rueidis.LuaExec, len(to))
	fixed := args[:appendFixedArgs:appendFixedArgs]
	for i, u := range to {
		execs[i] = rueidis.LuaExec{Keys: keys[keysPerUser*i : keysPerUser*(i+1)], Args: append(fixed, u)}
	}
	seqs := make([]int64, appendInts*len(to))
	epochs := make([]uint64, len(to))
	pending := execs
	index := make([]int, len(to)) // pending[j] is recipient index[j]
	for i := range index {
		index[i] = i
	}
	for attempt := 0; ; attempt++ {
		var failed []int
		var firstErr error
		for j, r := range appendScript.execMulti(ctx, s.client, pending) {
			v, e, err := appendResults(r)
			if err == nil && len(e) != 1 {
				err = corrupt("append", fmt.Sprintf("%d results for one recipient", len(e)))
			}
			if err != nil {
				if firstErr == nil || retryable(ctx, firstErr) && !retryable(ctx, err) {
					firstErr = err
				}
				failed = append(failed, j)
				continue
			}
			copy(seqs[appendInts*index[j]:], v)
			epochs[index[j]] = e[0]
		}
		if firstErr == nil {
			return seqs, epochs, nil
		}
		if !keyed || attempt > 0 || !retryable(ctx, firstErr) {
			return nil, nil, fmt.Errorf("%d of %d recipients not confirmed: %w", len(failed), len(to), firstErr)
		}
		next := make([]rueidis.LuaExec, len(failed))
		nextIndex := make([]int, len(failed))
		for k, j := range failed {
			next[k], nextIndex[k] = pending[j], index[j]
		}
		pending, index = next, nextIndex
	}
}
