package inbox

import (
	"errors"
	"log/slog"
	"strconv"
	"time"
)

// Durability says when an Append returns relative to the disk. Every
// policy survives a crash of the process (kill -9): a write has reached
// the kernel's page cache before Append returns. They differ on a crash of
// the machine (power loss, kernel panic):
//
//   - DurabilityAlways and DurabilityGroup lose nothing that was
//     acknowledged, as far as the disk honours fdatasync: Append returns
//     after its transaction's fdatasync. DurabilityAlways gives every write
//     its own transaction and fdatasync; DurabilityGroup lets concurrent
//     writes share one, so it is as safe and much faster under load.
//   - DurabilityOS never calls fdatasync: a machine crash loses what the
//     kernel had not yet written back (by default up to about 30 s of
//     acknowledged appends), and can leave the file inconsistent (bbolt
//     does not checksum data pages), so that it must be removed.
//
// The policy covers every write: appends, acks, markers, deletions.
type Durability int

const (
	// DurabilityGroup is the default: group commit.
	DurabilityGroup Durability = iota
	// DurabilityAlways: one transaction and fdatasync per write.
	DurabilityAlways
	// DurabilityOS: no fdatasync; the kernel writes back when it likes.
	DurabilityOS
)

// String returns the policy's flag value: "group", "always" or "os".
func (d Durability) String() string {
	switch d {
	case DurabilityGroup:
		return "group"
	case DurabilityAlways:
		return "always"
	case DurabilityOS:
		return "os"
	}
	return "durability(" + strconv.Itoa(int(d)) + ")"
}

// ParseDurability parses a flag value written by String.
func ParseDurability(s string) (Durability, error) {
	for _, d := range []Durability{DurabilityGroup, DurabilityAlways, DurabilityOS} {
		if s == d.String() {
			return d, nil
		}
	}
	return 0, errors.New("inbox: durability " + s + " is not always, group or os")
}

// Retention bounds each user's log. The oldest entries go first, and only
// whole entries: a log may exceed MaxBytes by less than one entry. Zero
// fields take the defaults; a negative field means no limit.
type Retention struct {
	// MaxEntries is how many entries a log keeps; default 10,000.
	MaxEntries int
	// MaxAge is how long an entry is kept; default 30 days.
	MaxAge time.Duration
	// MaxBytes bounds the kept entries' size (each entry's payload, ids
	// and 13 bytes of header); default 16 MiB.
	MaxBytes int64
}

// Options configure a DB. The zero value of every field means its
// documented default.
type Options struct {
	// Durability is the fsync policy; default DurabilityGroup.
	Durability Durability
	// GroupWindow is how long a group commit waits for more writes after
	// its first one. Zero (the default) waits for none: the writes that
	// queued while the previous commit was on the disk form the next group,
	// so grouping grows with load and a lone writer pays no delay. Used by
	// DurabilityGroup only; at most 100 ms.
	GroupWindow time.Duration
	// MaxGroup caps the writes in one transaction; default 512.
	MaxGroup int
	// MaxGroupBytes caps the entry bytes one transaction takes from its
	// queue (a single larger append still commits alone); default 16 MiB.
	MaxGroupBytes int64

	// Retention bounds each user's log.
	Retention Retention

	// MaxPayloadBytes caps a message's payload; default 64 KiB, at most
	// 16 MiB.
	MaxPayloadBytes int
	// MaxRecipients caps the recipients of one Append; default 1,024, at
	// most 100,000.
	MaxRecipients int
	// MaxAppendBytes caps one Append's entry bytes, over all recipients;
	// default 16 MiB.
	MaxAppendBytes int64
	// MaxDevices caps the devices kept per user; an ack from one more
	// device forgets the least recently seen. Default 32.
	MaxDevices int
	// PageSize is the most entries, conversations or users one read
	// returns; default 1,000.
	PageSize int
	// PageBytes bounds the payload bytes one Read returns (it returns at
	// least one entry); default 4 MiB.
	PageBytes int

	// IdempotencyWindow is how long an idempotency key is remembered;
	// default 10 minutes, at most 7 days.
	IdempotencyWindow time.Duration

	// SweepInterval is the pause between background retention sweeps;
	// default 1 minute; negative: no background sweep (call Sweep).
	SweepInterval time.Duration
	// SweepUsers is how many users one sweep step visits; default 256.
	SweepUsers int

	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Logger receives background sweep failures; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Hard caps: a configuration beyond them is refused by Validate.
const (
	maxPayloadCap    = 16 << 20
	maxRecipientsCap = 100_000
	maxWindowCap     = 100 * time.Millisecond
	maxIdemCap       = 7 * 24 * time.Hour
	// maxTrimPerWrite bounds the entries one append removes from one log;
	// the sweep removes the rest.
	maxTrimPerWrite = 64
	// maxSweepDrops bounds the entries and idempotency records one sweep
	// step removes.
	maxSweepDrops = 4096
)

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.MaxGroup == 0 {
		o.MaxGroup = 512
	}
	if o.MaxGroupBytes == 0 {
		o.MaxGroupBytes = 16 << 20
	}
	if o.Retention.MaxEntries == 0 {
		o.Retention.MaxEntries = 10_000
	}
	if o.Retention.MaxAge == 0 {
		o.Retention.MaxAge = 30 * 24 * time.Hour
	}
	if o.Retention.MaxBytes == 0 {
		o.Retention.MaxBytes = 16 << 20
	}
	if o.MaxPayloadBytes == 0 {
		o.MaxPayloadBytes = 64 << 10
	}
	if o.MaxRecipients == 0 {
		o.MaxRecipients = 1024
	}
	if o.MaxAppendBytes == 0 {
		o.MaxAppendBytes = 16 << 20
	}
	if o.MaxDevices == 0 {
		o.MaxDevices = 32
	}
	if o.PageSize == 0 {
		o.PageSize = 1000
	}
	if o.PageBytes == 0 {
		o.PageBytes = 4 << 20
	}
	if o.IdempotencyWindow == 0 {
		o.IdempotencyWindow = 10 * time.Minute
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Minute
	}
	if o.SweepUsers == 0 {
		o.SweepUsers = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports the first field out of its range, after defaults.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Durability < DurabilityGroup || o.Durability > DurabilityOS:
		return errors.New("inbox: unknown durability " + o.Durability.String())
	case o.GroupWindow < 0 || o.GroupWindow > maxWindowCap:
		return errors.New("inbox: group window must be 0 to 100ms")
	case o.MaxGroup < 1 || o.MaxGroupBytes < 1:
		return errors.New("inbox: group limits must be positive")
	case o.MaxPayloadBytes < 1 || o.MaxPayloadBytes > maxPayloadCap:
		return errors.New("inbox: max payload bytes must be 1 to 16 MiB")
	case o.MaxRecipients < 1 || o.MaxRecipients > maxRecipientsCap:
		return errors.New("inbox: max recipients must be 1 to 100,000")
	case o.MaxAppendBytes < int64(o.MaxPayloadBytes):
		return errors.New("inbox: max append bytes must be at least max payload bytes")
	case o.MaxDevices < 1 || o.PageSize < 1 || o.PageBytes < 1 || o.SweepUsers < 1:
		return errors.New("inbox: device, page and sweep limits must be positive")
	case o.IdempotencyWindow < 0 || o.IdempotencyWindow > maxIdemCap:
		return errors.New("inbox: idempotency window must be 0 to 7 days")
	}
	return nil
}
