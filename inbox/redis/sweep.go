package redis

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// Bounds of one sweep step, as in the embedded store.
const (
	// maxSweepDrops bounds the entries one step removes.
	maxSweepDrops = 4096
	// minSweepDropsPerUser is the least a step lets one user remove.
	minSweepDropsPerUser = 16
	// maxSweepExpiredPerUser bounds the idempotency records a step
	// removes from one user (keyed appends remove 16 each besides).
	maxSweepExpiredPerUser = 256
)

// Sweep runs one bounded step of retention: it visits the next
// Config.SweepUsers users of the users index after the previous step's
// last, trimming each log to the retention limits (at most 4,096 entries
// in all, shared among them) and removing its idempotency records older
// than the window (at most 256 each). The users' scripts are pipelined
// to their masters; each is atomic for its user. A user with more left
// to remove is visited again by the next step. The background sweep
// calls it until Wrapped; tests call it directly.
func (s *Store) Sweep(ctx context.Context) (inbox.SweepStats, error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if err := s.enter("sweep"); err != nil {
		return inbox.SweepStats{}, err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	after := s.sweepAfter
	names, more, err := s.userPage(ctx, after, s.cfg.SweepUsers)
	if err != nil {
		return inbox.SweepStats{}, s.fail("sweep", caller, err)
	}
	var st inbox.SweepStats
	if len(names) == 0 {
		s.sweepAfter = ""
		st.Wrapped = true
		return st, nil
	}
	each := max(maxSweepDrops/len(names), minSweepDropsPerUser)
	fixed := []string{s.nowArg(), s.argMaxEntries, s.argMaxAge, s.argMaxBytes, strconv.Itoa(each)}
	tail := []string{s.argWindow, strconv.Itoa(maxSweepExpiredPerUser)}
	execs := make([]rueidis.LuaExec, len(names))
	keys := s.userKeys(make([]string, 0, keysPerUser*len(names)), names...)
	for i, u := range names {
		args := make([]string, 0, len(fixed)+1+len(tail))
		args = append(append(append(args, fixed...), u), tail...)
		execs[i] = rueidis.LuaExec{Keys: keys[keysPerUser*i : keysPerUser*(i+1)], Args: args}
	}
	next := names[len(names)-1]
	var stale []string
	unfinished := false
	for i, r := range sweepScript.execMulti(ctx, s.client, execs) {
		v, err := r.AsIntSlice()
		if err == nil && len(v) != 2 {
			err = corrupt("sweep", "reply of "+strconv.Itoa(len(v)))
		}
		if err != nil {
			return inbox.SweepStats{}, s.fail("sweep", caller, err)
		}
		switch {
		case v[0] < 0:
			stale = append(stale, names[i])
		case v[0] >= int64(each) && !unfinished:
			// This user may have more to remove: the next step starts
			// with it again.
			unfinished = true
			next = after
			if i > 0 {
				next = names[i-1]
			}
		}
		if v[0] > 0 {
			st.Dropped += int(v[0])
		}
		st.Expired += int(v[1])
		if !unfinished {
			st.Users++
		}
	}
	if len(stale) > 0 && s.cfg.Cluster {
		if err := s.unlist(ctx, stale); err != nil {
			return inbox.SweepStats{}, s.fail("sweep", caller, err)
		}
	}
	// A user left unfinished is visited again even when it was the first
	// of the round (next is then "" without the round being over).
	st.Wrapped = !more && !unfinished
	if st.Wrapped {
		next = ""
	}
	s.sweepAfter = next
	return st, nil
}

// sweepLoop is the background sweep: every SweepInterval, the node that
// takes the round's lease (SET NX with the interval as its life) steps
// until it has visited every user; the others skip the round. A node that
// dies in a round leaves the rest of it to the next one.
func (s *Store) sweepLoop() {
	defer close(s.sweepDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.sweepStop
		cancel()
	}()
	token := strconv.FormatUint(rand.Uint64(), 36)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.sweepStop:
			return
		case <-t.C:
		}
		if !s.takeSweepLease(ctx, token) {
			continue
		}
		// Bounded: a round visits each user once; the step cap only guards
		// against a round that never ends while users keep being added.
		for step := 0; step < 1<<20; step++ {
			st, err := s.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, inbox.ErrClosed) {
					s.cfg.Logger.Warn("inbox/redis: sweep failed", "err", err)
				}
				break
			}
			if st.Wrapped {
				break
			}
		}
	}
}

// takeSweepLease reports whether this node sweeps this round.
func (s *Store) takeSweepLease(ctx context.Context, token string) bool {
	if err := s.enter("sweep"); err != nil {
		return false
	}
	defer s.leave()
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err := s.client.Do(ctx, s.client.B().Set().Key(s.sweepKey).Value(token).Nx().
		Px(s.cfg.SweepInterval).Build()).Error()
	if err != nil && !rueidis.IsRedisNil(err) && ctx.Err() == nil {
		s.cfg.Logger.Warn("inbox/redis: sweep lease", "err", err)
	}
	return err == nil
}
