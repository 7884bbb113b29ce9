package redis

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/internal/testredis"
)

// benchPayload is 100 bytes of JSON text, random letters, as in the
// embedded store's benchmarks.
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

// runConcurrently runs n calls of f spread over par goroutines.
func runConcurrently(n, par int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				f(int(i))
			}
		}()
	}
	wg.Wait()
}

// redisCPU is the CPU time of the servers so far.
func redisCPU(servers []*testredis.Server) time.Duration {
	var sum time.Duration
	for _, s := range servers {
		d, _ := s.CPUTime()
		sum += d
	}
	return sum
}

// reportRedisCPU adds the servers' CPU seconds per million operations.
func reportRedisCPU(b *testing.B, servers []*testredis.Server, before time.Duration, ops int) {
	if ops == 0 {
		return
	}
	b.ReportMetric((redisCPU(servers)-before).Seconds()*1e6/float64(ops), "redis-cpu-s/1M")
}

func benchConfig(addrs ...string) Config {
	cfg := testConfig(addrs...)
	cfg.Timeout = 30 * time.Second
	return cfg
}

// BenchmarkAppend appends 100-byte messages, each to one of 1,000 users,
// from 1 or 16 goroutines, on a single server (AOF off, and with
// appendfsync always and everysec). It reports appends per second and
// the server's CPU per million appends.
func BenchmarkAppend(b *testing.B) {
	for _, aof := range []string{"", "everysec", "always"} {
		name := "aof=" + aof
		if aof == "" {
			name = "aof=off"
		}
		b.Run(name, func(b *testing.B) {
			srv := testredis.Start(b, testredis.Options{AppendFsync: aof})
			s := open(b, benchConfig(srv.Addr()))
			m := inbox.Message{Conversation: "dm:a:b", From: "sender", Payload: benchPayload}
			for _, par := range []int{1, 16} {
				b.Run("appenders="+strconv.Itoa(par), func(b *testing.B) {
					b.ReportAllocs()
					cpu := redisCPU([]*testredis.Server{srv})
					start := time.Now()
					b.ResetTimer()
					runConcurrently(b.N, par, func(i int) {
						if _, err := s.Append(bg, benchUsers[i%len(benchUsers):][:1], m); err != nil {
							b.Error(err)
						}
					})
					b.StopTimer()
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
					reportRedisCPU(b, []*testredis.Server{srv}, cpu, b.N)
				})
			}
		})
	}
}

// BenchmarkAppendFanout appends a group message to 100 recipients, on a
// single server (one script) and on a three-master cluster (a script
// per recipient, pipelined to the masters), 4 appenders. It reports
// entries per second and the servers' CPU per million entries.
func BenchmarkAppendFanout(b *testing.B) {
	to := benchUsers[:100]
	m := inbox.Message{Conversation: "group:1", From: "sender", Payload: benchPayload}
	run := func(b *testing.B, s *Store, servers []*testredis.Server) {
		b.ReportAllocs()
		cpu := redisCPU(servers)
		start := time.Now()
		b.ResetTimer()
		runConcurrently(b.N, 4, func(int) {
			if _, err := s.Append(bg, to, m); err != nil {
				b.Error(err)
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N*len(to))/time.Since(start).Seconds(), "entries/s")
		reportRedisCPU(b, servers, cpu, b.N*len(to))
	}
	b.Run("single/recipients=100", func(b *testing.B) {
		srv := testredis.Start(b, testredis.Options{})
		run(b, open(b, benchConfig(srv.Addr())), []*testredis.Server{srv})
	})
	b.Run("cluster/recipients=100", func(b *testing.B) {
		c := testredis.StartCluster(b, 3)
		cfg := benchConfig(c.Addrs()...)
		cfg.Cluster = true
		run(b, open(b, cfg), c.Nodes())
	})
}

// BenchmarkRead reads a page of 100 entries from the middle of a log of
// 10,000, 16 readers. It reports entries per second.
func BenchmarkRead(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	s := open(b, benchConfig(srv.Addr()))
	fill(b, s, "reader", 10_000)
	b.ReportAllocs()
	cpu := redisCPU([]*testredis.Server{srv})
	start := time.Now()
	b.ResetTimer()
	runConcurrently(b.N, 16, func(i int) {
		p, err := s.Read(bg, "reader", uint64(4000+i%1000), 100)
		if err != nil || len(p.Entries) != 100 {
			b.Errorf("read: %d entries, %v", len(p.Entries), err)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "entries/s")
	reportRedisCPU(b, []*testredis.Server{srv}, cpu, b.N)
}

// BenchmarkUnread reads unread counts: the user's total (State), one
// conversation's counters, and a page of 50 conversations; 16 callers.
func BenchmarkUnread(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	s := open(b, benchConfig(srv.Addr()))
	for c := range 50 {
		for range 20 {
			m := inbox.Message{Conversation: "room:" + strconv.Itoa(c), From: "sender", Payload: benchPayload}
			if _, err := s.Append(bg, []string{"reader"}, m); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, bc := range []struct {
		name string
		f    func() error
	}{
		{"State", func() error { return errOf(s.State(bg, "reader")) }},
		{"Conversation", func() error { return errOf(s.Conversation(bg, "reader", "room:7")) }},
		{"Conversations", func() error { return errOf(s.Conversations(bg, "reader", "", 50)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := redisCPU([]*testredis.Server{srv})
			b.ResetTimer()
			runConcurrently(b.N, 16, func(int) {
				if err := bc.f(); err != nil {
					b.Error(err)
				}
			})
			b.StopTimer()
			reportRedisCPU(b, []*testredis.Server{srv}, cpu, b.N)
		})
	}
}

// fill appends n 100-byte messages to user.
func fill(b *testing.B, s *Store, user string, n int) {
	b.Helper()
	m := inbox.Message{Conversation: "room:1", From: "sender", Payload: benchPayload}
	for i := 0; i < n; i++ {
		if _, err := s.Append(bg, []string{user}, m); err != nil {
			b.Fatal(err)
		}
	}
}
