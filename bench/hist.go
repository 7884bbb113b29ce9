package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets values (microseconds, by convention) log-linearly: values
// below 128 have their own bucket, larger values share a bucket with others
// of the same top 7 significant bits, so a reported percentile is within
// 1/128 (0.8 %) of the exact one. Record is safe for concurrent use; read it
// only after the recorders are done.
type Histogram struct {
	counts [histBuckets]atomic.Int64
	total  atomic.Int64
	sum    atomic.Int64
	max    atomic.Int64
	min    atomic.Int64 // stored as value+1 so that zero means "empty"
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = histSub + (64-histSubBits-1)*histSub
)

func bucketOf(v int64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits - 1
	return histSub + shift*histSub + int(v>>shift) - histSub
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := (i - histSub) / histSub
	top := int64(histSub + (i-histSub)%histSub)
	return (top+1)<<shift - 1
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for m := h.max.Load(); v > m && !h.max.CompareAndSwap(m, v); m = h.max.Load() {
	}
	for m := h.min.Load(); (m == 0 || v+1 < m) && !h.min.CompareAndSwap(m, v+1); m = h.min.Load() {
	}
}

// RecordDuration records d in microseconds.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(d.Microseconds()) }

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.total.Load() }

// Max is the largest recorded value, exact.
func (h *Histogram) Max() int64 { return h.max.Load() }

// Min is the smallest recorded value, exact (0 when empty).
func (h *Histogram) Min() int64 {
	if m := h.min.Load(); m > 0 {
		return m - 1
	}
	return 0
}

// Mean is the exact arithmetic mean (0 when empty).
func (h *Histogram) Mean() float64 {
	if n := h.total.Load(); n > 0 {
		return float64(h.sum.Load()) / float64(n)
	}
	return 0
}

// Percentile returns the value at quantile q in [0, 1]: the upper bound of
// the bucket holding the ceil(q*n)-th smallest value, clamped to [Min, Max].
// It returns 0 for an empty histogram.
func (h *Histogram) Percentile(q float64) int64 {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(max(bucketHigh(i), h.Min()), h.Max())
		}
	}
	return h.Max()
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total.Load() == 0 {
		return
	}
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	for m := h.max.Load(); o.Max() > m && !h.max.CompareAndSwap(m, o.Max()); m = h.max.Load() {
	}
	om := o.min.Load()
	for m := h.min.Load(); (m == 0 || om < m) && !h.min.CompareAndSwap(m, om); m = h.min.Load() {
	}
}

// histWire is Histogram's JSON form: only the non-empty buckets.
type histWire struct {
	Buckets map[int]int64 `json:"b,omitempty"`
	Sum     int64         `json:"s"`
	Max     int64         `json:"max"`
	Min     int64         `json:"min"`
}

func (h *Histogram) wire() histWire {
	w := histWire{Buckets: map[int]int64{}, Sum: h.sum.Load(), Max: h.Max(), Min: h.min.Load()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			w.Buckets[i] = c
		}
	}
	return w
}

func (w histWire) histogram() *Histogram {
	h := new(Histogram)
	var n int64
	for i, c := range w.Buckets {
		if i >= 0 && i < histBuckets {
			h.counts[i].Store(c)
			n += c
		}
	}
	h.total.Store(n)
	h.sum.Store(w.Sum)
	h.max.Store(w.Max)
	h.min.Store(w.Min)
	return h
}
