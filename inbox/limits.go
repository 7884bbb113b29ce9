package inbox

import (
	"encoding/json"
	"strconv"
)

// Limits on the strings a client can send. Ids are 1 to MaxIDBytes bytes
// (a key 1 to MaxKeyBytes) of the channel-name set of docs/PROTOCOL.md,
// [A-Za-z0-9_:.@/=+#-], so that they appear verbatim in JSON, URLs and
// logs and never hold a byte that the key encoding could confuse.
const (
	// MaxIDBytes bounds user, device and conversation ids.
	MaxIDBytes = 128
	// MaxKeyBytes bounds an idempotency key.
	MaxKeyBytes = 64
)

// idByte marks the bytes allowed in ids and keys.
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

// ValidKey reports whether k is an idempotency key the store takes as is:
// at most MaxKeyBytes of the id set [A-Za-z0-9_:.@/=+#-]. Callers map
// other keys into it (inbox/personal digests them).
func ValidKey(k string) bool {
	if len(k) > MaxKeyBytes {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !idByte[k[i]] {
			return false
		}
	}
	return true
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

// checkOptionalID validates an id that may be empty.
func checkOptionalID(arg, s string, max int) error {
	if s == "" {
		return nil
	}
	return checkID(arg, s, max)
}

func checkUser(u string) error { return checkID("user", u, MaxIDBytes) }

// checkMessage validates what Append is given, before anything is queued.
func (o *Options) checkMessage(to []string, m *Message) error {
	if err := checkID("conversation", m.Conversation, MaxIDBytes); err != nil {
		return err
	}
	if err := checkOptionalID("from", m.From, MaxIDBytes); err != nil {
		return err
	}
	if err := checkOptionalID("from device", m.FromDevice, MaxIDBytes); err != nil {
		return err
	}
	if err := checkOptionalID("key", m.Key, MaxKeyBytes); err != nil {
		return err
	}
	if len(m.Payload) > o.MaxPayloadBytes {
		return tooLarge("payload", "over "+strconv.Itoa(o.MaxPayloadBytes)+" bytes")
	}
	if !json.Valid(m.Payload) {
		return invalid("payload", "not JSON")
	}
	if len(to) == 0 {
		return invalid("recipients", "none")
	}
	if len(to) > o.MaxRecipients {
		return tooLarge("recipients", "over "+strconv.Itoa(o.MaxRecipients))
	}
	if total := int64(len(to)) * int64(entrySize(m)); total > o.MaxAppendBytes {
		return tooLarge("recipients", "payload times recipients over "+strconv.FormatInt(o.MaxAppendBytes, 10)+" bytes")
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
