package inbox

import (
	"bytes"
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// trim removes the user's oldest entries while the log breaks a retention
// limit, at most max of them, and returns how many it removed. Removal is
// from the head only, so the kept seqs stay gapless and Oldest-1 is
// exactly the number removed.
func (d *DB) trim(u *userTx, now int64, max int) (int, error) {
	log := u.b.Bucket(logBucket)
	if log == nil {
		return 0, nil
	}
	r := d.o.Retention
	cutoff := int64(minTime)
	if r.MaxAge > 0 {
		cutoff = now - int64(r.MaxAge)
	}
	c := log.Cursor()
	removed := 0
	for removed < max && u.meta.kept() > 0 {
		k, v := c.First()
		seq, ok := parseSeqKey(k)
		if !ok || seq != u.meta.oldest {
			return removed, ErrCorrupt
		}
		e, err := decodeEntry(v)
		if err != nil {
			return removed, err
		}
		over := (r.MaxEntries > 0 && u.meta.kept() > uint64(r.MaxEntries)) ||
			(r.MaxBytes > 0 && u.meta.bytes > uint64(r.MaxBytes) && u.meta.kept() > 1) ||
			e.time < cutoff
		if !over {
			break
		}
		if err := d.unindexEntry(u, &e, seq); err != nil {
			return removed, err
		}
		u.meta.bytes -= uint64(len(v))
		if err := c.Delete(); err != nil {
			return removed, err
		}
		u.meta.oldest++
		removed++
	}
	return removed, nil
}

// unindexEntry takes a removed entry out of its conversation's counters
// and index. A conversation with no entry left is forgotten, marker too:
// a marker below every entry of a conversation says nothing.
func (d *DB) unindexEntry(u *userTx, e *entryView, seq uint64) error {
	convs := u.b.Bucket(convBucket)
	index := u.b.Bucket(convIndexBucket)
	if convs == nil || index == nil {
		return ErrCorrupt
	}
	v := convs.Get(e.conv)
	if v == nil {
		return ErrCorrupt
	}
	c, err := decodeConv(v)
	if err != nil {
		return err
	}
	if seq > c.read && string(e.from) != u.name {
		c.unread--
		u.meta.unread--
	}
	c.kept--
	if err := index.Delete(appendConvIndexKey(nil, e.conv, seq)); err != nil {
		return err
	}
	if c.kept == 0 {
		return convs.Delete(e.conv)
	}
	return convs.Put(e.conv, c.encode())
}

// SweepStats is what one Sweep step did.
type SweepStats struct {
	// Users is how many users the step visited.
	Users int
	// Dropped is how many entries it removed by retention.
	Dropped int
	// Expired is how many idempotency records it removed.
	Expired int
	// Wrapped reports that the step reached the last user: the next step
	// starts again from the first.
	Wrapped bool
}

// Sweep runs one bounded step of retention: it removes idempotency records
// older than the window (at most 4,096), then visits the next
// Options.SweepUsers users after the previous step's last, trimming each
// log to the retention limits (at most 4,096 entries in all). A step is one
// write transaction, queued with the other writes. The background sweep
// calls it until Wrapped, every SweepInterval; tests call it directly.
func (d *DB) Sweep(ctx context.Context) (SweepStats, error) {
	d.sweepMu.Lock()
	defer d.sweepMu.Unlock()
	var st SweepStats
	var next string
	var wrapped bool
	// The step reads its start from a copy: a step whose caller gave up
	// waiting may still run while the next Sweep call is under way.
	after := d.sweepAfter
	err := d.write(ctx, 0, func(tx *bolt.Tx) error {
		st, next, wrapped = SweepStats{}, "", false
		now := d.o.Now().UnixNano()
		var err error
		if st.Expired, err = d.expireIdem(tx, now, maxSweepDrops); err != nil {
			return err
		}
		st.Users, st.Dropped, next, wrapped, err = d.sweepUsers(tx, now, after, maxSweepDrops)
		st.Wrapped = wrapped
		return err
	})
	if err != nil {
		return SweepStats{}, err
	}
	d.sweepAfter = next
	return st, nil
}

// expireIdem removes up to max idempotency records older than the window,
// in age order.
func (d *DB) expireIdem(tx *bolt.Tx, now int64, max int) (int, error) {
	cutoff := now - int64(d.o.IdempotencyWindow)
	var keys [][]byte
	c := tx.Bucket(expiryBucket).Cursor()
	for k, _ := c.First(); k != nil && len(keys) < max; k, _ = c.Next() {
		if len(k) < 8 || parseTime(k) >= cutoff {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	users := tx.Bucket(usersBucket)
	for _, k := range keys {
		at, user, idem, ok := parseExpiryKey(k)
		if !ok {
			return 0, ErrCorrupt
		}
		// The record may be gone (user deleted) or newer (the key was
		// reused after expiring): remove it only if it is this one.
		if ub := users.Bucket(user); ub != nil {
			if b := ub.Bucket(idemBucket); b != nil {
				if v := b.Get(idem); v != nil {
					if r, err := decodeIdem(v); err == nil && r.at == at {
						if err := b.Delete(idem); err != nil {
							return 0, err
						}
					}
				}
			}
		}
		if err := tx.Bucket(expiryBucket).Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// sweepUsers trims the logs of the users after `after`, up to SweepUsers of
// them and max removed entries. It returns the last user it finished, and
// wrapped (next "") when it passed the last user. A step that stops inside
// the round's first user returns "" too, but has not wrapped.
func (d *DB) sweepUsers(tx *bolt.Tx, now int64, after string, max int) (visited, dropped int, next string, wrapped bool, err error) {
	var names []string
	c := tx.Bucket(usersBucket).Cursor()
	k, _ := c.Seek([]byte(after))
	if k != nil && after != "" && string(k) == after {
		k, _ = c.Next()
	}
	for ; k != nil && len(names) < d.o.SweepUsers; k, _ = c.Next() {
		names = append(names, string(k))
	}
	// The cursor is not used past this point: bbolt cursors do not survive
	// writes to their bucket.
	more := k != nil
	for _, name := range names {
		u, err := loadUser(tx, name)
		if err != nil {
			return visited, dropped, "", false, err
		}
		if u == nil {
			return visited, dropped, "", false, ErrCorrupt
		}
		n, err := d.trim(u, now, max-dropped)
		if err != nil {
			return visited, dropped, "", false, err
		}
		if n > 0 {
			if err := u.save(); err != nil {
				return visited, dropped, "", false, err
			}
		}
		dropped += n
		if dropped >= max {
			// This user may have more to remove: the next step starts
			// with it again.
			return visited, dropped, after, false, nil
		}
		visited++
		after = name
	}
	if !more {
		return visited, dropped, "", true, nil
	}
	return visited, dropped, after, false, nil
}

// sweepLoop is the background sweep: every SweepInterval, steps until it
// has visited every user.
func (d *DB) sweepLoop() {
	defer close(d.sweepDone)
	t := time.NewTicker(d.o.SweepInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-d.sweepStop
		cancel()
	}()
	for {
		select {
		case <-d.sweepStop:
			return
		case <-t.C:
		}
		// Bounded: a round visits each user once; the step cap only guards
		// against a round that never ends while users keep being added.
		for step := 0; step < 1<<20; step++ {
			st, err := d.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, ErrClosed) {
					d.o.Logger.Warn("inbox: sweep failed", "err", err)
				}
				break
			}
			if st.Wrapped {
				break
			}
		}
	}
}
