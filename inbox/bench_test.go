package inbox

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchPayload is 100 bytes of JSON text, random letters so that nothing
// is flattered by repetition.
var benchPayload = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := []byte(`{"text":"`)
	for len(b) < 98 {
		b = append(b, 'a'+byte(r.IntN(26)))
	}
	return append(b, `"}`...)
}()

var benchUsers = func() []string {
	u := make([]string, 1000)
	for i := range u {
		u[i] = "user" + strconv.Itoa(10000+i)
	}
	return u
}()

func openBench(b *testing.B, dir string, pol Durability) *DB {
	return openBenchWindow(b, dir, pol, 0)
}

func openBenchWindow(b *testing.B, dir string, pol Durability, window time.Duration) *DB {
	d, err := Open(dir, Options{Durability: pol, GroupWindow: window, SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkAppend appends b.N 100-byte messages, each to one of 1,000
// users, from 1 or 16 goroutines, under each policy (and group commit with
// a 1 ms window). It reports appends per second.
func BenchmarkAppend(b *testing.B) {
	for _, pol := range []struct {
		name   string
		d      Durability
		window time.Duration
	}{
		{"always", DurabilityAlways, 0},
		{"group", DurabilityGroup, 0},
		{"group-1ms", DurabilityGroup, time.Millisecond},
		{"os", DurabilityOS, 0},
	} {
		for _, writers := range []int{1, 16} {
			b.Run(pol.name+"/writers="+strconv.Itoa(writers), func(b *testing.B) {
				dir := b.TempDir()
				d := openBenchWindow(b, dir, pol.d, pol.window)
				m := Message{Conversation: "dm:a:b", From: "sender", Payload: benchPayload}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							if _, err := d.Append(bg, benchUsers[i%int64(len(benchUsers)):][:1], m); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
				if err := d.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkFootprint stores 100,000 100-byte messages over 100 users (16
// writers, os policy) and reports the file's disk blocks per entry. Each
// iteration fills a new store; run it with -benchtime 1x.
func BenchmarkFootprint(b *testing.B) {
	m := Message{Conversation: "dm:a:b", From: "sender", Payload: benchPayload}
	b.ReportAllocs()
	for range b.N {
		dir := b.TempDir()
		d := openBench(b, dir, DurabilityOS)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= 100_000; i = next.Add(1) {
					if _, err := d.Append(bg, benchUsers[i%100:][:1], m); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(diskBytes(b, dir))/100_000, "disk-B/entry")
	}
}

// BenchmarkAppendFanout appends b.N messages to 100 users each (a group
// message), one goroutine, under the group and os policies.
func BenchmarkAppendFanout(b *testing.B) {
	for _, pol := range []Durability{DurabilityGroup, DurabilityOS} {
		b.Run(pol.String()+"/recipients=100", func(b *testing.B) {
			d := openBench(b, b.TempDir(), pol)
			defer d.Close()
			m := Message{Conversation: "group:1", From: "sender", Payload: benchPayload}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := d.Append(bg, benchUsers[(i*100)%len(benchUsers):][:100], m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkReplay reads one user's 10,000 entries in pages of 1,000, as a
// device reconnecting after a day offline would.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	d := openBench(b, dir, DurabilityOS)
	defer d.Close()
	fillBench(b, d, "alice", 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		after, n := uint64(0), 0
		for {
			p, err := d.Read(bg, "alice", after, 1000)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Entries)
			if !p.More {
				break
			}
			after = p.Next
		}
		if n != 10_000 {
			b.Fatalf("replayed %d entries", n)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkOpen opens (and closes) a store of 100,000 entries over 1,000
// users: a restart's cost, which includes rebuilding the free list.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	d := openBench(b, dir, DurabilityOS)
	m := Message{Conversation: "dm:a:b", From: "sender", Payload: benchPayload}
	for i := range 1000 {
		if _, err := d.Append(bg, benchUsers[(i*100)%len(benchUsers):][:100], m); err != nil {
			b.Fatal(err)
		}
	}
	d.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d := openBench(b, dir, DurabilityOS)
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnread reads unread counts of a user with 10,000 entries over
// 50 conversations: what a server API call per page view costs.
func BenchmarkUnread(b *testing.B) {
	d := openBench(b, b.TempDir(), DurabilityOS)
	defer d.Close()
	for i := range 10_000 {
		m := Message{Conversation: "room:" + strconv.Itoa(i%50), From: "bob", Payload: benchPayload}
		if _, err := d.Append(bg, []string{"alice"}, m); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("State", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if s, err := d.State(bg, "alice"); err != nil || s.Unread != 10_000 {
				b.Fatal(s, err)
			}
		}
	})
	b.Run("Conversation", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if c, err := d.Conversation(bg, "alice", "room:7"); err != nil || c.Unread != 200 {
				b.Fatal(c, err)
			}
		}
	})
	b.Run("Conversations", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if p, err := d.Conversations(bg, "alice", "", 50); err != nil || len(p.Conversations) != 50 {
				b.Fatal(err)
			}
		}
	})
}

func fillBench(b *testing.B, d *DB, user string, n int) {
	m := Message{Conversation: "dm:a:b", From: "sender", Payload: benchPayload}
	for range n {
		if _, err := d.Append(bg, []string{user}, m); err != nil {
			b.Fatal(err)
		}
	}
}

// diskBytes returns the disk blocks the store's file holds (it grows
// ahead of its use, sparsely).
func diskBytes(b *testing.B, dir string) int64 {
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		b.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}
