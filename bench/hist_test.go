package bench

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// exactPercentile is the oracle: the ceil(q*n)-th smallest value.
func exactPercentile(sorted []int64, q float64) int64 {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

func TestHistogramPercentilesMatchSortedOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]func() int64{
		"small":       func() int64 { return rng.Int64N(100) },
		"uniform":     func() int64 { return rng.Int64N(1_000_000) },
		"exponential": func() int64 { return int64(rng.ExpFloat64() * 5000) },
		"bimodal": func() int64 {
			if rng.IntN(100) < 99 {
				return 200 + rng.Int64N(50)
			}
			return 80_000 + rng.Int64N(20_000)
		},
		"huge": func() int64 { return rng.Int64N(1 << 50) },
	}
	for name, gen := range cases {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]int64, 20_001)
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
				want := exactPercentile(vals, q)
				got := h.Percentile(q)
				// The bucket's upper bound is at most 1/128 above the value.
				if got < want || float64(got-want) > float64(want)/128+1 {
					t.Errorf("q=%v: got %d, exact %d", q, got, want)
				}
			}
			if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Count() != int64(len(vals)) {
				t.Errorf("max/min/count = %d/%d/%d, want %d/%d/%d", h.Max(), h.Min(), h.Count(), vals[len(vals)-1], vals[0], len(vals))
			}
		})
	}
}

func TestHistogramBucketBoundsAreContiguous(t *testing.T) {
	prev := int64(-1)
	for i := 0; i < histBuckets; i++ {
		hi := bucketHigh(i)
		if hi <= prev && i > 0 {
			t.Fatalf("bucket %d high %d not above %d", i, hi, prev)
		}
		if bucketOf(prev+1) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: bucketOf(%d)=%d bucketOf(%d)=%d", i, prev+1, bucketOf(prev+1), hi, bucketOf(hi))
		}
		prev = hi
		if hi > math.MaxInt64/4 {
			break
		}
	}
}

func TestHistogramEmptyAndSingle(t *testing.T) {
	var h Histogram
	if h.Percentile(0.99) != 0 || h.Max() != 0 || h.Min() != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	h.Record(12345)
	for _, q := range []float64{0, 0.5, 1} {
		if got := h.Percentile(q); got != 12345 {
			t.Errorf("single value q=%v: got %d", q, got)
		}
	}
}

func TestHistogramMergeAndWireEqualOneHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var all, a, b Histogram
	var vals []int64
	for i := 0; i < 5000; i++ {
		v := rng.Int64N(1 << 30)
		vals = append(vals, v)
		all.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	raw, err := json.Marshal(b.wire())
	if err != nil {
		t.Fatal(err)
	}
	var w histWire
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	a.Merge(w.histogram())
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.99, 0.999, 1} {
		if a.Percentile(q) != all.Percentile(q) {
			t.Errorf("q=%v merged %d, single %d", q, a.Percentile(q), all.Percentile(q))
		}
	}
	if a.Min() != vals[0] || a.Max() != vals[len(vals)-1] || a.Count() != 5000 {
		t.Errorf("merged min/max/count %d/%d/%d", a.Min(), a.Max(), a.Count())
	}
}

func TestHistogramConcurrentRecord(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(1); i <= 1000; i++ {
				h.Record(i)
			}
		}()
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 1000 || h.Min() != 1 {
		t.Fatalf("count/max/min = %d/%d/%d", h.Count(), h.Max(), h.Min())
	}
}
