package auth

import "fmt"

// Rule says who may do an operation in a namespace. Subscribe rules are
// RuleAnyone, RuleAuthenticated, RuleGrant and RuleOwner; publish rules
// are RuleNobody, RuleOwner, RuleGrant and RuleAuthenticated. The zero
// value, RuleDefault, means the safe default of the field: RuleGrant to
// subscribe, RuleNobody to publish.
type Rule uint8

// The rules. Their text forms (for flags and configuration files) are the
// lower-case words after "Rule".
const (
	// RuleDefault takes the field's default.
	RuleDefault Rule = iota
	// RuleNobody: no client may (only the backend API publishes).
	RuleNobody
	// RuleAnyone: every connection, anonymous ones included where the
	// namespace allows anonymous connections.
	RuleAnyone
	// RuleAuthenticated: every connection with a user.
	RuleAuthenticated
	// RuleGrant: connections whose credentials grant the channel, by exact
	// name or prefix: a grant in the connection token or hook answer, or a
	// subscription token for the channel.
	RuleGrant
	// RuleOwner: only the user the channel is named after: in namespace
	// "user:", channel "user:alice" belongs to user "alice".
	RuleOwner
)

var ruleNames = [...]string{"default", "nobody", "anyone", "authenticated", "grant", "owner"}

// String returns the rule's text form.
func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return fmt.Sprintf("Rule(%d)", r)
}

// MarshalText returns the rule's text form.
func (r Rule) MarshalText() ([]byte, error) {
	if int(r) >= len(ruleNames) {
		return nil, fmt.Errorf("auth: unknown rule %d", r)
	}
	return []byte(ruleNames[r]), nil
}

// UnmarshalText parses a rule's text form, so that flag.TextVar and
// configuration decoders can fill a Rule; "" is RuleDefault.
func (r *Rule) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = RuleDefault
		return nil
	}
	for i, name := range ruleNames {
		if string(b) == name {
			*r = Rule(i)
			return nil
		}
	}
	return fmt.Errorf("auth: unknown rule %q (want nobody, anyone, authenticated, grant or owner)", b)
}

// Reason says why a Decision went the way it did. Code and String give
// the client's answer: the code of an {"op":"err"} reply or of an HTTP
// error, and its reason text.
type Reason uint8

// The reasons.
const (
	// ReasonAllowed: the operation may proceed.
	ReasonAllowed Reason = iota
	// ReasonAuthRequired: an anonymous connection asked for something
	// that needs a user (or a namespace closed to anonymous connections).
	ReasonAuthRequired
	// ReasonNotOwner: a personal (owner) channel of someone else.
	ReasonNotOwner
	// ReasonNoGrant: the credentials do not grant the channel.
	ReasonNoGrant
	// ReasonNoPublish: clients may not publish in this namespace.
	ReasonNoPublish
	// ReasonNoPresence: presence is off in this namespace.
	ReasonNoPresence
)

var reasonText = [...]string{
	ReasonAllowed:      "allowed",
	ReasonAuthRequired: "authentication required",
	ReasonNotOwner:     "forbidden: not your channel",
	ReasonNoGrant:      "forbidden: no grant for this channel",
	ReasonNoPublish:    "forbidden: clients may not publish here",
	ReasonNoPresence:   "forbidden: presence is off for this channel",
}

// String returns the reason's text, for the client.
func (r Reason) String() string {
	if int(r) < len(reasonText) {
		return reasonText[r]
	}
	return fmt.Sprintf("Reason(%d)", r)
}

// Code returns the client-facing status: 200 for ReasonAllowed, 401 when
// credentials would help (ReasonAuthRequired), 403 otherwise.
func (r Reason) Code() int {
	switch r {
	case ReasonAllowed:
		return 200
	case ReasonAuthRequired:
		return 401
	}
	return 403
}

// Decision is the answer of a Policy check.
type Decision struct {
	Allowed bool
	Reason  Reason
}

func allow() Decision        { return Decision{Allowed: true} }
func deny(r Reason) Decision { return Decision{Reason: r} }
