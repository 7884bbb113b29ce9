package redis

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/internal/testredis"
)

// A chat message of about a hundred bytes.
var benchData = []byte(`{"text":"hello world, this is a typical chat message of about a hundred bytes!","n":1}`)

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

// reportRedisCPU adds the server's CPU seconds per million operations.
func reportRedisCPU(b *testing.B, srv *testredis.Server, before time.Duration) {
	after, err := srv.CPUTime()
	if err != nil || b.N == 0 {
		return
	}
	b.ReportMetric((after-before).Seconds()*1e6/float64(b.N), "redis-cpu-s/1M")
}

// BenchmarkPublish: round trips of the publish script (history on, one
// subscriberless topic per channel) with 1 and 16 concurrent publishers
// over 64 channels.
func BenchmarkPublish(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	br := open(b, testConfig(srv.Addr()))
	channels := make([]string, 64)
	for i := range channels {
		channels[i] = "room:" + strconv.Itoa(i)
	}
	for _, par := range []int{1, 16} {
		b.Run("publishers="+strconv.Itoa(par), func(b *testing.B) {
			b.ReportAllocs()
			cpu, _ := srv.CPUTime()
			b.ResetTimer()
			runConcurrently(b.N, par, func(i int) {
				if _, err := br.Publish(context.Background(), channels[i%len(channels)], benchData, broker.PublishOptions{}); err != nil {
					b.Error(err)
				}
			})
			b.StopTimer()
			reportRedisCPU(b, srv, cpu)
		})
	}
}

// BenchmarkPublishDelivered: publish with 16 publishers and wait until a
// subscribed node delivered everything: the whole path through pub/sub
// and the dispatchers.
func BenchmarkPublishDelivered(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	cfg := testConfig(srv.Addr())
	br := open(b, cfg)
	var delivered atomic.Int64
	done := make(chan struct{}, 1)
	var want atomic.Int64
	h := handlerFunc(func(*broker.Publication) {
		if delivered.Add(1) == want.Load() {
			done <- struct{}{}
		}
	})
	if err := br.Start(h); err != nil {
		b.Fatal(err)
	}
	channels := make([]string, 64)
	for i := range channels {
		channels[i] = "room:" + strconv.Itoa(i)
		if err := br.Subscribe(context.Background(), channels[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu, _ := srv.CPUTime()
	b.ResetTimer()
	delivered.Store(0)
	want.Store(int64(b.N))
	runConcurrently(b.N, 16, func(i int) {
		if _, err := br.Publish(context.Background(), channels[i%len(channels)], benchData, broker.PublishOptions{}); err != nil {
			b.Error(err)
		}
	})
	<-done
	b.StopTimer()
	reportRedisCPU(b, srv, cpu)
}

// BenchmarkHistory100 reads 100 publications and the stream state.
func BenchmarkHistory100(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	br := open(b, testConfig(srv.Addr()))
	for i := range 100 {
		if _, err := br.Publish(context.Background(), "room", benchData, broker.PublishOptions{}); err != nil {
			b.Fatal(err, i)
		}
	}
	dst := make([]*broker.Publication, 0, 100)
	b.ReportAllocs()
	cpu, _ := srv.CPUTime()
	b.ResetTimer()
	for range b.N {
		pubs, _, err := br.History(context.Background(), "room", broker.HistoryOptions{Limit: 100}, dst[:0])
		if err != nil || len(pubs) != 100 {
			b.Fatal(len(pubs), err)
		}
	}
	b.StopTimer()
	reportRedisCPU(b, srv, cpu)
}

// BenchmarkHistoryCaughtUp is a poll that finds nothing new: the state
// and an empty page, the most common read by far.
func BenchmarkHistoryCaughtUp(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	br := open(b, testConfig(srv.Addr()))
	for range 100 {
		if _, err := br.Publish(context.Background(), "room", benchData, broker.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu, _ := srv.CPUTime()
	b.ResetTimer()
	runConcurrently(b.N, 16, func(int) {
		pubs, st, err := br.History(context.Background(), "room", broker.HistoryOptions{After: 100, Limit: 100}, nil)
		if err != nil || len(pubs) != 0 || st.Top != 100 {
			b.Error(len(pubs), st, err)
		}
	})
	b.StopTimer()
	reportRedisCPU(b, srv, cpu)
}

type handlerFunc func(*broker.Publication)

func (f handlerFunc) OnPublication(p *broker.Publication) { f(p) }

// BenchmarkPing is the yardstick for the others: a PING through the same
// client, 16 callers. Divide by it to compare machines.
func BenchmarkPing(b *testing.B) {
	srv := testredis.Start(b, testredis.Options{})
	br := open(b, testConfig(srv.Addr()))
	c := br.client
	b.ReportAllocs()
	cpu, _ := srv.CPUTime()
	b.ResetTimer()
	runConcurrently(b.N, 16, func(int) {
		if err := c.Do(context.Background(), c.B().Ping().Build()).Error(); err != nil {
			b.Error(err)
		}
	})
	b.StopTimer()
	reportRedisCPU(b, srv, cpu)
}
