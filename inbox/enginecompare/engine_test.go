package enginecompare

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"
)

// engine is the workload's view of a store: append one entry to a user's
// log at the next seq, updating the user's meta record (its top seq) in the
// same atomic write, and read one user's entries in order.
type engine interface {
	append(user uint32, value []byte) (seq uint64, err error)
	replay(user uint32, fn func(v []byte)) (int, error)
	close() error
}

var (
	usersBucket = []byte("users")
	logBucket   = []byte("log")
	metaKey     = []byte("meta")
)

// payloads are 100 bytes of JSON text plus the ~30 bytes of envelope the
// inbox stores with each (time, conversation, sender): random letters, so
// that neither engine's compression gets more out of them than out of real
// messages, and different for each entry of a page.
var payloads = func() [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	p := make([][]byte, 1024)
	for i := range p {
		b := make([]byte, 130)
		for j := range b {
			b[j] = 'a' + byte(r.IntN(26))
		}
		p[i] = b
	}
	return p
}()

func payload(i int) []byte { return payloads[i%len(payloads)] }

// boltEngine keeps a bucket per user (its log a sub-bucket, only ever
// appended to) and commits through one goroutine that takes every queued
// append into one transaction: group commit. maxGroup 1 makes it one
// transaction, and one fsync, per append.
type boltEngine struct {
	db       *bolt.DB
	ops      chan boltOp
	maxGroup int
	fill     float64
	wg       sync.WaitGroup
}

type boltOp struct {
	user  uint32
	value []byte
	done  chan boltResult
}

type boltResult struct {
	seq uint64
	err error
}

func openBolt(dir string, noSync bool, maxGroup int, fill float64) (*boltEngine, error) {
	db, err := bolt.Open(filepath.Join(dir, "inbox.db"), 0o600, &bolt.Options{
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		NoSync:         noSync,
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(usersBucket)
		return err
	})
	if err != nil {
		return nil, err
	}
	e := &boltEngine{db: db, ops: make(chan boltOp, 1024), maxGroup: maxGroup, fill: fill}
	e.wg.Add(1)
	go e.commitLoop()
	return e, nil
}

func (e *boltEngine) commitLoop() {
	defer e.wg.Done()
	group := make([]boltOp, 0, e.maxGroup)
	seqs := make([]uint64, 0, e.maxGroup)
	for op := range e.ops {
		group = append(group[:0], op)
	drain:
		for len(group) < e.maxGroup {
			select {
			case op, ok := <-e.ops:
				if !ok {
					break drain
				}
				group = append(group, op)
			default:
				break drain
			}
		}
		err := e.db.Update(func(tx *bolt.Tx) error {
			seqs = seqs[:0]
			for _, op := range group {
				seq, err := e.put(tx, op)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			return nil
		})
		for i, op := range group {
			if err != nil {
				op.done <- boltResult{err: err}
			} else {
				op.done <- boltResult{seq: seqs[i]}
			}
		}
	}
}

func (e *boltEngine) put(tx *bolt.Tx, op boltOp) (uint64, error) {
	var key [8]byte
	binary.BigEndian.PutUint32(key[:4], op.user)
	ub, err := tx.Bucket(usersBucket).CreateBucketIfNotExists(key[:4])
	if err != nil {
		return 0, err
	}
	lb, err := ub.CreateBucketIfNotExists(logBucket)
	if err != nil {
		return 0, err
	}
	lb.FillPercent = e.fill
	var seq uint64 = 1
	if m := ub.Get(metaKey); m != nil {
		seq = binary.BigEndian.Uint64(m) + 1
	}
	binary.BigEndian.PutUint64(key[:], seq)
	if err := lb.Put(key[:], op.value); err != nil {
		return 0, err
	}
	return seq, ub.Put(metaKey, key[:])
}

func (e *boltEngine) append(user uint32, value []byte) (uint64, error) {
	done := make(chan boltResult, 1)
	e.ops <- boltOp{user: user, value: value, done: done}
	r := <-done
	return r.seq, r.err
}

func (e *boltEngine) replay(user uint32, fn func(v []byte)) (int, error) {
	n := 0
	err := e.db.View(func(tx *bolt.Tx) error {
		var k [4]byte
		binary.BigEndian.PutUint32(k[:], user)
		c := tx.Bucket(usersBucket).Bucket(k[:]).Bucket(logBucket).Cursor()
		for key, v := c.First(); key != nil; key, v = c.Next() {
			fn(v)
			n++
		}
		return nil
	})
	return n, err
}

func (e *boltEngine) close() error {
	close(e.ops)
	e.wg.Wait()
	return e.db.Close()
}

// pebbleEngine writes one batch per append: the entry under 'l'+user+seq
// and the user's top under 'm'+user. The seq is assigned under the user's
// lock, held until the commit returns, so that a user's entries commit in
// seq order. Concurrent Sync commits of different users share the WAL's
// fsync by themselves (pebble's own group commit); serial makes every
// append wait for the previous one, one fsync each.
type pebbleEngine struct {
	db     *pebble.DB
	opts   *pebble.WriteOptions
	serial sync.Mutex
	strict bool
	mu     sync.Mutex
	users  map[uint32]*pebbleUser
}

type pebbleUser struct {
	mu  sync.Mutex
	top uint64
}

func openPebble(dir string, sync, strict bool) (*pebbleEngine, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		return nil, err
	}
	o := pebble.NoSync
	if sync {
		o = pebble.Sync
	}
	return &pebbleEngine{db: db, opts: o, strict: strict, users: make(map[uint32]*pebbleUser)}, nil
}

func pebbleKey(dst []byte, kind byte, user uint32) []byte {
	return binary.BigEndian.AppendUint32(append(dst[:0], kind), user)
}

func (e *pebbleEngine) append(user uint32, value []byte) (uint64, error) {
	if e.strict {
		e.serial.Lock()
		defer e.serial.Unlock()
	}
	e.mu.Lock()
	u := e.users[user]
	if u == nil {
		u = &pebbleUser{}
		e.users[user] = u
	}
	e.mu.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	var mk, lk [13]byte
	meta := pebbleKey(mk[:], 'm', user)
	if u.top == 0 {
		v, closer, err := e.db.Get(meta)
		if err == nil {
			u.top = binary.BigEndian.Uint64(v)
			closer.Close()
		} else if err != pebble.ErrNotFound {
			return 0, err
		}
	}
	seq := u.top + 1
	key := binary.BigEndian.AppendUint64(pebbleKey(lk[:], 'l', user), seq)
	b := e.db.NewBatch()
	defer b.Close()
	if err := b.Set(key, value, nil); err != nil {
		return 0, err
	}
	if err := b.Set(meta, key[5:], nil); err != nil {
		return 0, err
	}
	if err := b.Commit(e.opts); err != nil {
		return 0, err
	}
	u.top = seq
	return seq, nil
}

func (e *pebbleEngine) replay(user uint32, fn func(v []byte)) (int, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: pebbleKey(nil, 'l', user),
		UpperBound: pebbleKey(nil, 'l', user+1),
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		fn(it.Value())
		n++
	}
	return n, it.Close()
}

// quiet drops pebble's informational log lines, which would interleave
// with the benchmark's output.
type quiet struct{}

func (quiet) Infof(string, ...any)         {}
func (quiet) Errorf(f string, args ...any) { panic("pebble: error: " + f) }
func (quiet) Fatalf(f string, args ...any) { panic("pebble: fatal: " + f) }

// close flushes the memtable first, so that the footprint counts the sorted
// tables and not only the WAL.
func (e *pebbleEngine) close() error {
	if err := e.db.Flush(); err != nil {
		return err
	}
	return e.db.Close()
}

// policies are the inbox's durability policies as each engine provides
// them. pebble's NoSync is weaker than the inbox's "os" policy: its WAL is
// buffered inside the process, so a kill -9 loses recent writes.
var policies = []struct {
	name string
	open func(dir string) (engine, error)
}{
	{"bbolt/always", func(d string) (engine, error) { return openBolt(d, false, 1, 1) }},
	{"bbolt/group", func(d string) (engine, error) { return openBolt(d, false, 256, 1) }},
	{"bbolt/os", func(d string) (engine, error) { return openBolt(d, true, 256, 1) }},
	{"bbolt-halffill/os", func(d string) (engine, error) { return openBolt(d, true, 256, bolt.DefaultFillPercent) }},
	{"pebble/always", func(d string) (engine, error) { return openPebble(d, true, true) }},
	{"pebble/group", func(d string) (engine, error) { return openPebble(d, true, false) }},
	{"pebble/nosync", func(d string) (engine, error) { return openPebble(d, false, false) }},
}

// BenchmarkAppend appends b.N entries spread over 1,000 users from 1 or 16
// goroutines.
func BenchmarkAppend(b *testing.B) {
	for _, p := range policies {
		if p.name == "bbolt-halffill/os" {
			continue // only its footprint differs
		}
		for _, writers := range []int{1, 16} {
			b.Run(p.name+"/writers="+itoa(writers), func(b *testing.B) {
				e, err := p.open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer e.close()
				b.ReportAllocs()
				b.ResetTimer()
				run(b, e, writers, 1000, b.N)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			})
		}
	}
}

// run makes n appends spread over users from writers goroutines.
func run(tb testing.TB, e engine, writers, users, n int) {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if _, err := e.append(uint32(i%users), payload(i)); err != nil {
					tb.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkReplay reads one user's 100,000 entries in order from a store
// reopened after writing them.
func BenchmarkReplay(b *testing.B) {
	for _, p := range policies {
		if p.name != "bbolt/os" && p.name != "pebble/nosync" {
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			dir := b.TempDir()
			fill(b, p.open, dir, 1, 100_000)
			e, err := p.open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer e.close()
			b.ReportAllocs()
			b.ResetTimer()
			total := 0
			for range b.N {
				n, err := e.replay(0, func([]byte) {})
				if err != nil || n != 100_000 {
					b.Fatalf("replay: %d entries, %v", n, err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// fill writes n entries spread over users, 16 writers at once, and closes
// the store.
func fill(tb testing.TB, open func(string) (engine, error), dir string, users, n int) {
	e, err := open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	run(tb, e, 16, users, n)
	if err := e.close(); err != nil {
		tb.Fatal(err)
	}
}

// TestFootprint reports the bytes on disk per stored entry after 100,000
// entries over 100 users, the store closed. Run with -v to see the
// figures.
func TestFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 entries per engine")
	}
	for _, p := range policies {
		if p.name != "bbolt/os" && p.name != "bbolt-halffill/os" && p.name != "pebble/nosync" {
			continue
		}
		dir := t.TempDir()
		fill(t, p.open, dir, 100, 100_000)
		size, blocks := du(t, dir)
		t.Logf("%s: %d bytes in files (%d in disk blocks): %.1f (%.1f) bytes per entry of %d bytes",
			p.name, size, blocks, float64(size)/100_000, float64(blocks)/100_000, len(payload(0)))
		if wal := walBytes(t, dir); wal > 0 {
			t.Logf("%s: of which %d bytes in WAL files (pebble keeps them to recycle): %.1f bytes per entry without them",
				p.name, wal, float64(size-wal)/100_000)
		}
	}
}

// du returns the files' sizes and the disk blocks they hold (bbolt's file
// grows ahead of its use and may be sparse).
func du(t *testing.T, dir string) (size, allocated int64) {
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
			allocated += fi.Sys().(*syscall.Stat_t).Blocks * 512
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return size, allocated
}

func walBytes(t *testing.T, dir string) int64 {
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range logs {
		fi, err := os.Stat(l)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
