package auth

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Namespace is the rule set of the channels whose names start with
// Prefix. The zero value of each field is its documented default.
type Namespace struct {
	// Prefix selects the namespace's channels ("room:"): 1 to 64 channel
	// bytes. The longest matching prefix wins. "" only in
	// PolicyConfig.Default.
	Prefix string `json:"prefix" yaml:"prefix"`
	// Subscribe says who may subscribe, read history and poll: anyone,
	// authenticated, grant or owner. Default: grant.
	Subscribe Rule `json:"subscribe" yaml:"subscribe"`
	// Publish says who may publish from a client (the backend API always
	// may): nobody, owner, grant or authenticated. Default: nobody.
	Publish Rule `json:"publish" yaml:"publish"`
	// Presence turns presence on: the channel's members are tracked and
	// may be listed by those allowed to (CanSeePresence).
	Presence bool `json:"presence" yaml:"presence"`
	// JoinLeave turns join and leave events to subscribers on.
	JoinLeave bool `json:"join_leave" yaml:"join_leave"`
	// Anonymous lets anonymous connections subscribe, where Subscribe is
	// anyone and PolicyConfig.Anonymous is on. Anonymous connections never
	// publish.
	Anonymous bool `json:"anonymous" yaml:"anonymous"`
	// HistorySize is how many messages history keeps; zero means the
	// server's default. At most 1,048,576.
	HistorySize int `json:"history_size" yaml:"history_size"`
	// HistoryTTL is how long history keeps a message; zero means the
	// server's default. At most 30 days.
	HistoryTTL time.Duration `json:"history_ttl" yaml:"history_ttl"`
}

// PolicyConfig is the namespace configuration, filled by the server from
// flags or a configuration file.
type PolicyConfig struct {
	// Namespaces, by prefix; at most 256.
	Namespaces []Namespace `json:"namespaces" yaml:"namespaces"`
	// Default applies to channels no prefix matches; its Prefix must be "".
	// Its zero value is the safe default: subscribe by grant, no client
	// publish.
	Default Namespace `json:"default" yaml:"default"`
	// Anonymous accepts connections without credentials (off by
	// default). They may only subscribe where a namespace allows them.
	Anonymous bool `json:"anonymous" yaml:"anonymous"`
	// PersonalPrefix is the namespace of personal channels: user "alice"
	// owns PersonalPrefix+"alice". Default "user:". When no namespace has
	// this prefix, one is added with Subscribe owner and Publish nobody; a
	// configured one must have Subscribe owner.
	PersonalPrefix string `json:"personal_prefix" yaml:"personal_prefix"`
}

// Policy bounds.
const (
	DefaultPersonalPrefix = "user:"
	MaxNamespaces         = 256
	MaxPrefixBytes        = 64
	MaxHistorySize        = 1 << 20
	MaxHistoryTTL         = 30 * 24 * time.Hour
)

// Policy answers who may do what on which channel. It is immutable and
// safe for concurrent use; every method is CPU only, allocation free, and
// may run on an event loop.
//
// A decision depends only on the identity, the channel's name, the
// subscription token and the configuration: never on whether the channel
// exists, has subscribers or holds history. The server must ask before it
// touches the engine, so that neither the answer nor its timing tells a
// denied client anything about the channel.
type Policy struct {
	namespaces []Namespace // longest prefix first
	def        Namespace
	anonymous  bool
	personal   string
}

// NewPolicy checks c and builds the Policy; the error lists every problem
// found.
func NewPolicy(c PolicyConfig) (*Policy, error) {
	p := &Policy{
		namespaces: slices.Clone(c.Namespaces),
		def:        c.Default,
		anonymous:  c.Anonymous,
		personal:   cmp.Or(c.PersonalPrefix, DefaultPersonalPrefix),
	}
	var errs []error
	if !safeName(p.personal, MaxPrefixBytes) {
		errs = append(errs, fmt.Errorf("personal prefix %q: want 1 to %d bytes of [A-Za-z0-9_:.@/=+#-]", p.personal, MaxPrefixBytes))
	}
	if !slices.ContainsFunc(p.namespaces, func(n Namespace) bool { return n.Prefix == p.personal }) {
		p.namespaces = append(p.namespaces, Namespace{Prefix: p.personal, Subscribe: RuleOwner, Publish: RuleNobody})
	}
	if len(p.namespaces) > MaxNamespaces {
		errs = append(errs, fmt.Errorf("%d namespaces, at most %d", len(p.namespaces), MaxNamespaces))
	}
	if p.def.Prefix != "" {
		errs = append(errs, fmt.Errorf("default namespace has prefix %q: it must have none", p.def.Prefix))
	}
	errs = append(errs, p.def.normalize("default namespace"))
	seen := map[string]bool{}
	for i := range p.namespaces {
		n := &p.namespaces[i]
		where := fmt.Sprintf("namespace %q", n.Prefix)
		if !safeName(n.Prefix, MaxPrefixBytes) {
			errs = append(errs, fmt.Errorf("%s: prefix must be 1 to %d bytes of [A-Za-z0-9_:.@/=+#-]", where, MaxPrefixBytes))
		}
		if seen[n.Prefix] {
			errs = append(errs, fmt.Errorf("%s: configured twice", where))
		}
		seen[n.Prefix] = true
		errs = append(errs, n.normalize(where))
	}
	errs = append(errs, p.checkOwners()...)
	if p.anonymous && !p.def.Anonymous && !slices.ContainsFunc(p.namespaces, func(n Namespace) bool { return n.Anonymous }) {
		errs = append(errs, errors.New("anonymous connections are on but no namespace allows them"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth: policy: %w", err)
	}
	slices.SortStableFunc(p.namespaces, func(a, b Namespace) int { return len(b.Prefix) - len(a.Prefix) })
	return p, nil
}

// normalize fills the defaults of n and checks its fields.
func (n *Namespace) normalize(where string) error {
	var errs []error
	if n.Subscribe == RuleDefault {
		n.Subscribe = RuleGrant
	}
	if n.Publish == RuleDefault {
		n.Publish = RuleNobody
	}
	switch n.Subscribe {
	case RuleAnyone, RuleAuthenticated, RuleGrant:
	case RuleOwner:
		if n.Prefix == "" {
			errs = append(errs, fmt.Errorf("%s: subscribe owner needs a prefix (the user id follows it)", where))
		}
	default:
		errs = append(errs, fmt.Errorf("%s: subscribe %q: want anyone, authenticated, grant or owner", where, n.Subscribe))
	}
	switch n.Publish {
	case RuleNobody, RuleAuthenticated, RuleGrant:
	case RuleOwner:
		if n.Prefix == "" {
			errs = append(errs, fmt.Errorf("%s: publish owner needs a prefix (the user id follows it)", where))
		}
	default:
		errs = append(errs, fmt.Errorf("%s: publish %q: want nobody, owner, grant or authenticated", where, n.Publish))
	}
	if n.Anonymous && n.Subscribe != RuleAnyone {
		errs = append(errs, fmt.Errorf("%s: anonymous needs subscribe anyone (it is %s)", where, n.Subscribe))
	}
	if n.HistorySize < 0 || n.HistorySize > MaxHistorySize {
		errs = append(errs, fmt.Errorf("%s: history size %d out of range [0, %d]", where, n.HistorySize, MaxHistorySize))
	}
	if n.HistoryTTL < 0 || n.HistoryTTL > MaxHistoryTTL {
		errs = append(errs, fmt.Errorf("%s: history ttl %v out of range [0, %v]", where, n.HistoryTTL, MaxHistoryTTL))
	}
	return errors.Join(errs...)
}

// checkOwners keeps personal channels personal: the personal namespace
// must be owner-read and closed to foreign writers, and no namespace may
// nest inside an owner namespace, where its longer prefix would take
// some users' channels ("user:admin" would capture "user:admin" and
// "user:administrator") away from their owners.
func (p *Policy) checkOwners() []error {
	var errs []error
	for _, n := range p.namespaces {
		if n.Prefix == p.personal {
			if n.Subscribe != RuleOwner {
				errs = append(errs, fmt.Errorf("personal namespace %q: subscribe must be owner (it is %s)", n.Prefix, n.Subscribe))
			}
			if n.Publish == RuleAuthenticated {
				errs = append(errs, fmt.Errorf("personal namespace %q: publish authenticated would let anyone write into every user's channel", n.Prefix))
			}
		}
		if n.Subscribe != RuleOwner && n.Publish != RuleOwner {
			continue
		}
		for _, m := range p.namespaces {
			if m.Prefix != n.Prefix && strings.HasPrefix(m.Prefix, n.Prefix) {
				errs = append(errs, fmt.Errorf("namespace %q lies inside owner namespace %q: it would take users' channels from them", m.Prefix, n.Prefix))
			}
		}
	}
	return errs
}

// Namespace returns the namespace of channel: the one with the longest
// matching prefix, else the default. The result is shared and must not be
// modified.
func (p *Policy) Namespace(channel string) *Namespace {
	for i := range p.namespaces {
		if strings.HasPrefix(channel, p.namespaces[i].Prefix) {
			return &p.namespaces[i]
		}
	}
	return &p.def
}

// Namespaces returns a copy of the namespaces, longest prefix first, then
// the default, for logs and the admin API.
func (p *Policy) Namespaces() []Namespace {
	return append(slices.Clone(p.namespaces), p.def)
}

// AllowsAnonymous reports whether anonymous connections are accepted.
func (p *Policy) AllowsAnonymous() bool { return p.anonymous }

// Anonymous returns the identity of a connection that presented no
// credentials: the anonymous identity when anonymous connections are on,
// else ErrMissing.
func (p *Policy) Anonymous() (Identity, error) {
	if !p.anonymous {
		return Identity{}, fail(ErrMissing, "no token", nil)
	}
	return Identity{}, nil
}

// PersonalChannel returns user's personal channel, PersonalPrefix+user.
// It refuses a user id that is not ValidUserID.
func (p *Policy) PersonalChannel(user string) (string, error) {
	if !ValidUserID(user) {
		return "", errors.New("auth: bad user id")
	}
	return p.personal + user, nil
}

// PersonalUser returns the user whose personal channel channel is, if it
// is one.
func (p *Policy) PersonalUser(channel string) (string, bool) {
	user, ok := strings.CutPrefix(channel, p.personal)
	if !ok || !ValidUserID(user) {
		return "", false
	}
	return user, true
}

// owns reports whether id is the owner of channel in owner namespace n.
func owns(n *Namespace, id *Identity, channel string) bool {
	return len(channel) == len(n.Prefix)+len(id.User) && channel[len(n.Prefix):] == id.User
}

// tokenFits reports whether subscription token sub was issued to id for
// channel.
func tokenFits(sub *SubscriptionToken, id *Identity, channel string) bool {
	return sub != nil && sub.Channel == channel && sub.User == id.User
}

// CanSubscribe decides whether id may subscribe to channel, which covers
// reading its history and polling it from any position: every transport
// and every replay path asks this one question. sub is a subscription
// token the client presented for this subscription, verified with
// Verifier.VerifySubscription, or nil. A nil id is anonymous. Policy has
// no clock: the server checks sub.Expiry where it keeps the subscription.
func (p *Policy) CanSubscribe(id *Identity, channel string, sub *SubscriptionToken) Decision {
	n := p.Namespace(channel)
	if id.Anonymous() {
		if p.anonymous && n.Anonymous && n.Subscribe == RuleAnyone {
			return allow()
		}
		return deny(ReasonAuthRequired)
	}
	switch n.Subscribe {
	case RuleAnyone, RuleAuthenticated:
		return allow()
	case RuleOwner:
		if owns(n, id, channel) {
			return allow()
		}
		return deny(ReasonNotOwner)
	}
	if MatchGrant(id.Grants.Subscribe, channel) || tokenFits(sub, id, channel) {
		return allow()
	}
	return deny(ReasonNoGrant)
}

// CanPublish decides whether id may publish into channel from a client.
// sub is the subscription token of the connection's subscription to
// channel, or nil; it opens publishing only when it says publish. The
// backend API is not subject to this.
func (p *Policy) CanPublish(id *Identity, channel string, sub *SubscriptionToken) Decision {
	n := p.Namespace(channel)
	if n.Publish == RuleNobody {
		return deny(ReasonNoPublish)
	}
	if id.Anonymous() {
		return deny(ReasonAuthRequired)
	}
	switch n.Publish {
	case RuleAuthenticated:
		return allow()
	case RuleOwner:
		if owns(n, id, channel) {
			return allow()
		}
		return deny(ReasonNotOwner)
	}
	if MatchGrant(id.Grants.Publish, channel) || (tokenFits(sub, id, channel) && sub.Publish) {
		return allow()
	}
	return deny(ReasonNoGrant)
}

// CanSeePresence decides whether id may list channel's presence (and
// receive its join and leave events). subscribed says that the connection
// holds a subscription to channel, which CanSubscribe allowed when it was
// made. Presence is visible to subscribers, to holders of a presence grant,
// and to whoever may subscribe.
func (p *Policy) CanSeePresence(id *Identity, channel string, subscribed bool) Decision {
	n := p.Namespace(channel)
	if !n.Presence {
		return deny(ReasonNoPresence)
	}
	if subscribed || (!id.Anonymous() && MatchGrant(id.Grants.Presence, channel)) {
		return allow()
	}
	return p.CanSubscribe(id, channel, nil)
}
