package notify

import (
	"encoding/json"
	"fmt"
	"time"
)

// Kind is what happened to a user.
type Kind uint8

// The kinds of event.
const (
	// Online: the user's first connection opened (the user had none).
	Online Kind = iota + 1
	// Offline: the user's last connection closed (or its presence
	// expired, for a poller that stopped polling).
	Offline
)

// String returns the kind as the webhook's JSON names it.
func (k Kind) String() string {
	switch k {
	case Online:
		return "online"
	case Offline:
		return "offline"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Event is one change of a user's presence.
type Event struct {
	Kind Kind
	// User is the user id; an event without one is dropped.
	User string
	// At is when it happened; the zero time means when Notify was called.
	At time.Time
	// Connections is how many connections the user has after the change,
	// where the server knows it (0 for Offline).
	Connections int
}

// payload is the JSON body of a webhook request (docs/AUTH.md "Presence
// webhook").
type payload struct {
	ID          string `json:"id"`
	Event       string `json:"event"`
	User        string `json:"user"`
	At          int64  `json:"at"` // Unix milliseconds
	Connections int    `json:"connections"`
	Node        string `json:"node,omitempty"`
}

func (e *entry) body(node string) ([]byte, error) {
	return json.Marshal(payload{
		ID: e.id, Event: e.ev.Kind.String(), User: e.ev.User,
		At: e.ev.At.UnixMilli(), Connections: e.ev.Connections, Node: node,
	})
}
