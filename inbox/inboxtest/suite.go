package inboxtest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/inbox"
)

// Options are the store settings the suite asks for. A store's
// constructor applies them; a zero field means the store's default (the
// defaults of inbox.Options), and the suite relies on nothing else of its
// configuration.
type Options struct {
	// Now is the store's clock: entry, device and log times, the age
	// limit and the idempotency window all read it.
	Now func() time.Time
	// Retention bounds each user's log, as inbox.Retention documents.
	Retention inbox.Retention
	// IdempotencyWindow is how long an idempotency key is remembered.
	IdempotencyWindow time.Duration
	// MaxDevices caps the devices kept per user.
	MaxDevices int
	// MaxPayloadBytes, MaxRecipients and MaxAppendBytes bound one Append.
	MaxPayloadBytes int
	MaxRecipients   int
	MaxAppendBytes  int64
	// PageSize and PageBytes bound one read.
	PageSize  int
	PageBytes int
}

// Clock is a hand-moved clock; its Now is what Options.Now holds. It
// starts at a whole second, so that a store keeping microseconds, or
// milliseconds, gives back exactly the times it was given.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Start is where every Clock begins.
var Start = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// NewClock returns a clock at Start.
func NewClock() *Clock { return &Clock{now: Start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// EntryBytes is what an entry of m counts for retention by bytes, as
// inbox.Retention documents it: its payload, its ids and 13 bytes of
// header.
func EntryBytes(m inbox.Message) uint64 {
	return uint64(13 + len(m.Conversation) + len(m.From) + len(m.FromDevice) + len(m.Key) + len(m.Payload))
}

// Run runs the contract against the stores open makes: one new, empty
// store per subtest, configured from the Options it is given, closed by
// the suite when the subtest ends.
func Run(t *testing.T, open func(t *testing.T, o Options) inbox.Store) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		f    func(*env)
	}{
		{"AppendReadPage", nil, testAppendReadPage},
		{"ReadingCreatesNothing", nil, testReadingCreatesNothing},
		{"OfflineDeviceGetsThousandInOrder", nil, testOfflineDevice},
		{"FanOutOwnSeqs", nil, testFanOut},
		{"ConcurrentAppendsGapless", nil, testConcurrentAppends},
		{"PageSize", func(o *Options) { o.PageSize = 5 }, testPageSize},
		{"PageBytes", func(o *Options) { o.PageBytes = 20 }, testPageBytes},
		{"CallerOwnsSlices", nil, testCallerOwnsSlices},
		{"IdempotentRetryStoresOnce", func(o *Options) { o.IdempotencyWindow = time.Minute }, testIdempotentRetry},
		{"IdempotencyPerRecipient", func(o *Options) { o.IdempotencyWindow = time.Minute }, testIdempotencyPerRecipient},
		{"TwoDevicesGetTheirRemainder", nil, testTwoDevices},
		{"AckMonotonicClampedEvicting", func(o *Options) { o.MaxDevices = 3 }, testAckMonotonic},
		{"AckCreatesAnEmptyLog", nil, testAckCreatesLog},
		{"UnreadCountsAndReadMarkers", nil, testUnread},
		{"RetentionKeepsUnreadExact", func(o *Options) { o.Retention.MaxEntries = 4 }, testRetentionUnread},
		{"RetentionByCountExactGap", func(o *Options) { o.Retention.MaxEntries = 100 }, testRetentionByCount},
		{"RetentionByBytes", func(o *Options) { o.Retention.MaxBytes = bytesLimit }, testRetentionByBytes},
		{"RetentionByAgeOnAppend", func(o *Options) { o.Retention.MaxAge = time.Hour }, testRetentionByAge},
		{"UsersPaging", nil, testUsersPaging},
		{"DeleteUserStartsNewEpoch", func(o *Options) { o.IdempotencyWindow = time.Minute }, testDeleteUser},
		{"ArgumentErrors", func(o *Options) { o.MaxPayloadBytes = 100; o.MaxRecipients = 3 }, testArgumentErrors},
		{"AppendBytesBound", func(o *Options) { o.MaxPayloadBytes = 1000; o.MaxAppendBytes = 2500 }, testAppendBytesBound},
		{"Close", nil, testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock()
			o := Options{Now: clock.Now}
			if tc.edit != nil {
				tc.edit(&o)
			}
			s := open(t, o)
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, inbox.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			tc.f(&env{t: t, s: s, clock: clock, o: o, ctx: context.Background()})
		})
	}
}

// env is one subtest's store and clock, with helpers that fail the test
// on an error.
type env struct {
	t     *testing.T
	s     inbox.Store
	clock *Clock
	o     Options
	ctx   context.Context
}

// msg is message i of a conversation: its payload {"i":i}.
func msg(conv, from string, i int) inbox.Message {
	return inbox.Message{Conversation: conv, From: from, Payload: []byte(`{"i":` + strconv.Itoa(i) + `}`)}
}

// index returns i from a payload msg made.
func (e *env) index(p []byte) int {
	e.t.Helper()
	var v struct{ I int }
	if err := json.Unmarshal(p, &v); err != nil {
		e.t.Fatalf("payload %q: %v", p, err)
	}
	return v.I
}

func (e *env) append(to []string, m inbox.Message) []inbox.Appended {
	e.t.Helper()
	a, err := e.s.Append(e.ctx, to, m)
	if err != nil {
		e.t.Fatalf("Append %q to %v: %v", m.Payload, to, err)
	}
	if len(a) != len(to) {
		e.t.Fatalf("Append to %v: %d results", to, len(a))
	}
	for i := range a {
		if a[i].User != to[i] {
			e.t.Fatalf("Append to %v: result %d is %q's", to, i, a[i].User)
		}
	}
	return a
}

// appendN appends n messages (payload indexes first..first+n-1) to user.
func (e *env) appendN(user, conv, from string, first, n int) {
	e.t.Helper()
	for i := first; i < first+n; i++ {
		e.append([]string{user}, msg(conv, from, i))
	}
}

func (e *env) read(user string, after uint64, limit int) inbox.Page {
	e.t.Helper()
	p, err := e.s.Read(e.ctx, user, after, limit)
	if err != nil {
		e.t.Fatalf("Read %s after %d: %v", user, after, err)
	}
	return p
}

// readAll reads the user's log after `after` page by page of limit, and
// checks that the pages chain.
func (e *env) readAll(user string, after uint64, limit int) []inbox.Entry {
	e.t.Helper()
	var all []inbox.Entry
	for range 100_000 {
		p := e.read(user, after, limit)
		if limit > 0 && len(p.Entries) > limit {
			e.t.Fatalf("page of %d entries, limit %d", len(p.Entries), limit)
		}
		all = append(all, p.Entries...)
		if !p.More {
			return all
		}
		if p.Next <= after || len(p.Entries) == 0 {
			e.t.Fatalf("page after %d: More with Next %d and %d entries", after, p.Next, len(p.Entries))
		}
		after = p.Next
	}
	e.t.Fatal("read did not end")
	return nil
}

func (e *env) state(user string) inbox.State {
	e.t.Helper()
	s, err := e.s.State(e.ctx, user)
	if err != nil {
		e.t.Fatalf("State %s: %v", user, err)
	}
	return s
}

func (e *env) ack(user, device string, seq uint64) inbox.Device {
	e.t.Helper()
	d, err := e.s.Ack(e.ctx, user, device, seq)
	if err != nil {
		e.t.Fatalf("Ack %s/%s %d: %v", user, device, seq, err)
	}
	return d
}

func (e *env) device(user, device string) inbox.Device {
	e.t.Helper()
	d, err := e.s.Device(e.ctx, user, device)
	if err != nil {
		e.t.Fatalf("Device %s/%s: %v", user, device, err)
	}
	return d
}

func (e *env) markRead(user, conv string, seq uint64) inbox.Marked {
	e.t.Helper()
	m, err := e.s.MarkRead(e.ctx, user, conv, seq)
	if err != nil {
		e.t.Fatalf("MarkRead %s %s %d: %v", user, conv, seq, err)
	}
	return m
}

func (e *env) conversation(user, conv string) inbox.Conversation {
	e.t.Helper()
	c, err := e.s.Conversation(e.ctx, user, conv)
	if err != nil {
		e.t.Fatalf("Conversation %s %s: %v", user, conv, err)
	}
	return c
}

func (e *env) users(after string, limit int) inbox.UserPage {
	e.t.Helper()
	p, err := e.s.Users(e.ctx, after, limit)
	if err != nil {
		e.t.Fatalf("Users after %q: %v", after, err)
	}
	return p
}

// checkSeqs checks that entries are exactly the seqs from..to, in order.
func (e *env) checkSeqs(entries []inbox.Entry, from, to uint64) {
	e.t.Helper()
	if want := int(to - from + 1); from > to && len(entries) != 0 || from <= to && len(entries) != want {
		e.t.Fatalf("%d entries, want seqs %d..%d", len(entries), from, to)
	}
	for i, en := range entries {
		if en.Seq != from+uint64(i) {
			e.t.Fatalf("entry %d has seq %d, want %d", i, en.Seq, from+uint64(i))
		}
	}
}

func errOf[T any](_ T, err error) error { return err }
