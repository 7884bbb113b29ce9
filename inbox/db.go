package inbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the store's file inside its data directory.
const FileName = "inbox.db"

// layoutVersion is written under format/v; Open refuses another.
const layoutVersion = "1"

// DB is the embedded Store: one bbolt file under a data directory, written
// by one committer goroutine, read by the callers' goroutines in parallel.
type DB struct {
	o  Options
	db *bolt.DB

	// mu guards closed, so that no write is queued after Close closed ops
	// and no read starts after Close began.
	mu     sync.RWMutex
	closed bool
	// ops feeds the committer; commitDone is closed when it has drained.
	ops        chan *op
	commitDone chan struct{}

	// sweepMu serialises sweep steps; it guards sweepAfter, the last user
	// the previous step finished.
	sweepMu    sync.Mutex
	sweepAfter string
	sweepStop  chan struct{}
	sweepDone  chan struct{}
}

var _ Store = (*DB)(nil)

// Open opens or creates the store in dir (created with mode 0700 if
// missing). Only one process may open a directory at once: Open fails
// after a second if another holds it.
func Open(dir string, o Options) (*DB, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{
		Timeout: time.Second,
		// The free list is rebuilt from the tree on open instead of being
		// written by every commit: less to write per append.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		NoSync:         o.Durability == DurabilityOS,
	})
	if err != nil {
		return nil, err
	}
	if err := db.Update(initLayout); err != nil {
		db.Close()
		return nil, err
	}
	d := &DB{
		o:          o,
		db:         db,
		ops:        make(chan *op, 2*o.MaxGroup),
		commitDone: make(chan struct{}),
		sweepStop:  make(chan struct{}),
		sweepDone:  make(chan struct{}),
	}
	go d.commitLoop()
	if o.SweepInterval > 0 {
		go d.sweepLoop()
	} else {
		close(d.sweepDone)
	}
	return d, nil
}

func initLayout(tx *bolt.Tx) error {
	for _, name := range [][]byte{usersBucket, expiryBucket} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	fb, err := tx.CreateBucketIfNotExists(formatBucket)
	if err != nil {
		return err
	}
	switch v := fb.Get(formatKey); {
	case v == nil:
		return fb.Put(formatKey, []byte(layoutVersion))
	case string(v) != layoutVersion:
		return errors.New("inbox: layout version " + string(v) + ", this build reads " + layoutVersion)
	}
	return nil
}

// Close stops the sweep, waits for queued writes, and closes the file.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.closed = true
	d.mu.Unlock()
	close(d.sweepStop)
	<-d.sweepDone
	close(d.ops)
	<-d.commitDone
	return d.db.Close()
}

// view runs fn in a read transaction, in the caller's goroutine.
func (d *DB) view(fn func(tx *bolt.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return ErrClosed
	}
	return d.db.View(fn)
}

// op is one queued write. run performs it in the committer's transaction
// and returns an error only to abort the transaction (an engine failure);
// outcomes for the caller (ErrNotFound, results) go in variables run
// closes over, which run resets, since it may run twice: once in a group,
// and again alone if the group failed.
type op struct {
	run   func(tx *bolt.Tx) error
	bytes int64
	done  chan error
}

// write queues run for the committer and waits until its transaction has
// committed under the durability policy.
func (d *DB) write(ctx context.Context, bytes int64, run func(tx *bolt.Tx) error) error {
	o := &op{run: run, bytes: bytes, done: make(chan error, 1)}
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return ErrClosed
	}
	select {
	case d.ops <- o:
	case <-ctx.Done():
		d.mu.RUnlock()
		return ctx.Err()
	}
	d.mu.RUnlock()
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop is the committer: it takes a group of queued writes, runs them
// in one transaction, and answers each after the commit (and its fdatasync
// unless the policy is os).
func (d *DB) commitLoop() {
	defer close(d.commitDone)
	maxGroup := d.o.MaxGroup
	if d.o.Durability == DurabilityAlways {
		maxGroup = 1
	}
	group := make([]*op, 0, maxGroup)
	var timer *time.Timer
	for first := range d.ops {
		group = append(group[:0], first)
		bytes := first.bytes
		var deadline <-chan time.Time
		if d.o.Durability == DurabilityGroup && d.o.GroupWindow > 0 && maxGroup > 1 {
			if timer == nil {
				timer = time.NewTimer(d.o.GroupWindow)
			} else {
				timer.Reset(d.o.GroupWindow)
			}
			deadline = timer.C
		}
	collect:
		for len(group) < maxGroup && bytes < d.o.MaxGroupBytes {
			if deadline == nil {
				select {
				case o, ok := <-d.ops:
					if !ok {
						break collect
					}
					group = append(group, o)
					bytes += o.bytes
				default:
					break collect
				}
				continue
			}
			select {
			case o, ok := <-d.ops:
				if !ok {
					break collect
				}
				group = append(group, o)
				bytes += o.bytes
			case <-deadline:
				deadline = nil
				break collect
			}
		}
		if deadline != nil {
			// Since Go 1.23 a stopped timer delivers no stale tick, so
			// Reset needs no drain.
			timer.Stop()
		}
		d.commit(group)
		clear(group)
	}
}

// commit runs a group in one transaction. If the transaction fails, each
// write is retried in a transaction of its own, so that one write's
// failure is not every write's.
func (d *DB) commit(group []*op) {
	err := d.db.Update(func(tx *bolt.Tx) error {
		for _, o := range group {
			if err := o.run(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, o := range group {
			o.done <- err
		}
		return
	}
	for _, o := range group {
		o.done <- d.db.Update(o.run)
	}
}
