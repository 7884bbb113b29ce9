package inbox

import (
	"context"
	"time"
)

// Store is the durable per-user inbox: the contract the node uses, served
// by the embedded DB in single-node mode and by a shared engine in cluster
// mode. It names no engine's types.
//
// Every method may block on I/O and may be called from any goroutine;
// none may be called from an event loop. Strings passed in must satisfy
// the limits in limits.go; a violation is an *ArgError. Byte slices passed
// in are not retained; slices returned belong to the caller.
type Store interface {
	// Append stores m as the next entry of every recipient's log, all
	// recipients in one atomic write, and returns once the write is as
	// durable as the store's policy promises. The result has one Appended
	// per recipient, in the order given; its seqs are the acknowledgement
	// for the publisher. With m.Key set, a recipient whose log already
	// holds an append of the same m.From and m.Key within the idempotency
	// window gets that append's seq back with Duplicate set, and nothing
	// new is stored for it. An error means nothing was stored, except a
	// context error while waiting for the write, after which the append
	// may or may not have been stored (retry with the same key).
	Append(ctx context.Context, to []string, m Message) ([]Appended, error)

	// Read returns the user's entries after seq after, oldest first, at
	// most limit of them (0: the store's page size; more is capped to it),
	// with the log's state read in the same snapshot. A page may hold
	// fewer, to bound its bytes, but never none while entries remain:
	// callers follow More and Next. Page.Gap counts the entries after
	// `after` that retention removed. A user with no log reads as an
	// empty one.
	Read(ctx context.Context, user string, after uint64, limit int) (Page, error)
	// State returns the user's log state and unread total.
	State(ctx context.Context, user string) (State, error)

	// Ack moves the device's delivery position to seq: cumulative and
	// monotonic (an older seq leaves it where it is) and clamped to the
	// log's top. It records the device if it is new (evicting the user's
	// least recently seen device beyond the per-user limit) and updates
	// its last-seen time. It returns the device as stored.
	Ack(ctx context.Context, user, device string, seq uint64) (Device, error)
	// Device returns one device's position; ErrNotFound if it never acked
	// or was forgotten.
	Device(ctx context.Context, user, device string) (Device, error)
	// Devices returns all the user's devices, by id.
	Devices(ctx context.Context, user string) ([]Device, error)
	// ForgetDevice removes a device's position; forgetting an unknown one
	// is not an error.
	ForgetDevice(ctx context.Context, user, device string) error

	// MarkRead moves the user's read marker in a conversation to seq (a
	// seq of the user's log): monotonic like Ack and clamped to the top.
	// ErrNotFound if the user's log keeps no entry of the conversation.
	MarkRead(ctx context.Context, user, conversation string, seq uint64) (Marked, error)
	// Conversation returns the user's marker and counters of one
	// conversation; ErrNotFound if the log keeps none of its entries.
	Conversation(ctx context.Context, user, conversation string) (Conversation, error)
	// Conversations lists the user's conversations after the id after, by
	// id, at most limit (0: the page size).
	Conversations(ctx context.Context, user, after string, limit int) (ConversationPage, error)

	// DeleteUser removes everything the store holds for the user: its log,
	// devices, markers and idempotency records. A later append starts a
	// new log (a new epoch, seqs from 1). Deleting an unknown user is not
	// an error.
	DeleteUser(ctx context.Context, user string) error
	// Users lists the users that have a log, by id, after the id after, at
	// most limit (0: the page size).
	Users(ctx context.Context, after string, limit int) (UserPage, error)

	// Close waits for writes in flight and releases the store. Calls after
	// Close return ErrClosed.
	Close() error
}

// Message is what Append stores.
type Message struct {
	// Conversation is the channel, DM or group the message belongs to;
	// required.
	Conversation string
	// From is the sender's user id, "" when the backend sent it. A
	// recipient's own messages never count as unread for it.
	From string
	// FromDevice is the sending device (client id), "" when unknown.
	FromDevice string
	// Payload is the message: compact JSON, stored as given.
	Payload []byte
	// Key is the optional idempotency key, scoped to From and to each
	// recipient's log.
	Key string
}

// Appended is one recipient's outcome of an Append.
type Appended struct {
	User string
	// Seq is the entry's seq in User's log, and Epoch the log's epoch
	// (State.Epoch): together they are the entry's position.
	Seq   uint64
	Epoch uint64
	// Duplicate reports that an earlier append with the same From and Key
	// had stored the entry; Seq is that append's.
	Duplicate bool
	// Time is the entry's time (Entry.Time): what a live relay of it
	// carries, so that live and replayed deliveries agree.
	Time time.Time
}

// Entry is one entry of a user's log.
type Entry struct {
	Seq          uint64
	Time         time.Time
	Conversation string
	From         string
	FromDevice   string
	Key          string
	Payload      []byte
}

// State describes a user's log. Seqs are gapless: the log holds every seq
// from Oldest to Top, and retention removed every seq below Oldest.
type State struct {
	// Epoch names this incarnation of the log: it changes when the user is
	// deleted and the log starts again from seq 1. 0 for a user with no
	// log.
	Epoch uint64
	// Top is the seq of the latest entry; 0 when nothing was appended.
	Top uint64
	// Oldest is the seq of the oldest kept entry; Top+1 when none is kept.
	Oldest uint64
	// Bytes is the size of the kept entries, as retention counts it.
	Bytes uint64
	// Dropped is how many entries retention removed: Oldest-1.
	Dropped uint64
	// Unread is the user's unread total: the kept entries, not sent by the
	// user, after the read marker of their conversation.
	Unread uint64
	// Created is when the log began; Updated when it was last appended to.
	Created, Updated time.Time
}

// Kept returns how many entries the log keeps.
func (s State) Kept() uint64 { return s.Top + 1 - s.Oldest }

// Page is one Read.
type Page struct {
	Entries []Entry
	// Next is the seq to read after for the next page: the last entry's
	// seq, or, when the page is empty, `after` or the last removed seq,
	// whichever is greater.
	Next uint64
	// More reports that entries after Next exist.
	More bool
	// Gap is how many entries after `after` retention removed before they
	// were read: the reader missed exactly that many.
	Gap   uint64
	State State
}

// Device is a device's delivery position.
type Device struct {
	ID string
	// Acked is the highest seq the device acknowledged.
	Acked uint64
	// Pending is how many kept entries are after Acked.
	Pending uint64
	// Gap is how many entries after Acked retention removed before the
	// device acknowledged them.
	Gap uint64
	// LastSeen is the time of the device's latest ack.
	LastSeen time.Time
	// Created is the time of its first ack.
	Created time.Time
}

// Conversation is a user's read marker and counters in one conversation.
type Conversation struct {
	ID string
	// Read is the read marker: a seq of the user's log.
	Read uint64
	// Kept is how many of the log's kept entries belong to it.
	Kept uint64
	// Unread is how many of them are after Read and not from the user.
	Unread uint64
	// LastSeq and LastTime are its latest entry's.
	LastSeq  uint64
	LastTime time.Time
}

// Marked is the outcome of MarkRead.
type Marked struct {
	Conversation
	// Previous is the marker before the call; Read is the marker now. They
	// are equal when the call did not move it.
	Previous uint64
}

// ConversationPage is one page of Conversations.
type ConversationPage struct {
	Conversations []Conversation
	// Next is the id to list after for the next page; "" when this was the
	// last.
	Next string
}

// UserState is one user of Users.
type UserState struct {
	User string
	State
}

// UserPage is one page of Users.
type UserPage struct {
	Users []UserState
	// Next is the id to list after for the next page; "" when this was the
	// last.
	Next string
}
