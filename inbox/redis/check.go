package redis

import (
	"encoding/json"
	"strconv"

	"github.com/comet-im/comet/inbox"
)

// The argument checks of the embedded store (inbox/limits.go), which it
// does not export: the same limits, the same *inbox.ArgError values, so
// that a caller cannot tell the stores apart by their refusals. The id set
// also keeps the keys sound: no id holds a space (the records' separator)
// or a brace (the hash tag's).

// idByte marks the bytes allowed in ids and keys: [A-Za-z0-9_:.@/=+#-].
var idByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_:.@/=+#-" {
		t[c] = true
	}
	return t
}()

func invalid(arg, reason string) error {
	return &inbox.ArgError{Arg: arg, Reason: reason, Err: inbox.ErrInvalid}
}

func tooLarge(arg, reason string) error {
	return &inbox.ArgError{Arg: arg, Reason: reason, Err: inbox.ErrTooLarge}
}

// checkID validates a required id.
func checkID(arg, s string, max int) error {
	if s == "" {
		return invalid(arg, "empty")
	}
	if len(s) > max {
		return invalid(arg, "over "+strconv.Itoa(max)+" bytes")
	}
	for i := 0; i < len(s); i++ {
		if !idByte[s[i]] {
			return invalid(arg, "byte "+strconv.Quote(s[i:i+1])+" not in [A-Za-z0-9_:.@/=+#-]")
		}
	}
	return nil
}

func checkOptionalID(arg, s string, max int) error {
	if s == "" {
		return nil
	}
	return checkID(arg, s, max)
}

func checkUser(u string) error          { return checkID("user", u, inbox.MaxIDBytes) }
func checkDevice(d string) error        { return checkID("device", d, inbox.MaxIDBytes) }
func checkConversation(c string) error  { return checkID("conversation", c, inbox.MaxIDBytes) }
func checkUserDevice(u, d string) error { return firstErr(checkUser(u), checkDevice(d)) }
func checkUserConv(u, c string) error   { return firstErr(checkUser(u), checkConversation(c)) }

// firstErr returns the first non-nil error, in argument order.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// entryBytes is what an entry of m counts for retention: its payload, its
// ids and 13 bytes of header (inbox.Retention).
func entryBytes(m *inbox.Message) int {
	return 13 + len(m.Conversation) + len(m.From) + len(m.FromDevice) + len(m.Key) + len(m.Payload)
}

// checkMessage validates what Append is given, before anything is sent.
func (s *Store) checkMessage(to []string, m *inbox.Message) error {
	if err := checkID("conversation", m.Conversation, inbox.MaxIDBytes); err != nil {
		return err
	}
	if err := checkOptionalID("from", m.From, inbox.MaxIDBytes); err != nil {
		return err
	}
	if err := checkOptionalID("from device", m.FromDevice, inbox.MaxIDBytes); err != nil {
		return err
	}
	if err := checkOptionalID("key", m.Key, inbox.MaxKeyBytes); err != nil {
		return err
	}
	c := &s.cfg
	if len(m.Payload) > c.MaxPayloadBytes {
		return tooLarge("payload", "over "+strconv.Itoa(c.MaxPayloadBytes)+" bytes")
	}
	if !json.Valid(m.Payload) {
		return invalid("payload", "not JSON")
	}
	if len(to) == 0 {
		return invalid("recipients", "none")
	}
	if len(to) > c.MaxRecipients {
		return tooLarge("recipients", "over "+strconv.Itoa(c.MaxRecipients))
	}
	if total := int64(len(to)) * int64(entryBytes(m)); total > c.MaxAppendBytes {
		return tooLarge("recipients", "payload times recipients over "+strconv.FormatInt(c.MaxAppendBytes, 10)+" bytes")
	}
	for i, u := range to {
		if err := checkUser(u); err != nil {
			return err
		}
		// A quadratic scan beats a map's allocations for a DM or a small
		// group.
		if len(to) <= 64 {
			for _, v := range to[:i] {
				if u == v {
					return invalid("recipients", "repeated "+strconv.Quote(u))
				}
			}
		}
	}
	if len(to) > 64 {
		seen := make(map[string]struct{}, len(to))
		for _, u := range to {
			if _, ok := seen[u]; ok {
				return invalid("recipients", "repeated "+strconv.Quote(u))
			}
			seen[u] = struct{}{}
		}
	}
	return nil
}
