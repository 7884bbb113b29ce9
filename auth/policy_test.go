package auth

import (
	"strings"
	"testing"
	"time"
)

func testPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := NewPolicy(PolicyConfig{
		Anonymous: true,
		Namespaces: []Namespace{
			{Prefix: "public:", Subscribe: RuleAnyone, Anonymous: true, Publish: RuleAuthenticated, Presence: true},
			{Prefix: "room:", Subscribe: RuleAuthenticated, Publish: RuleAuthenticated, Presence: true, JoinLeave: true, HistorySize: 50, HistoryTTL: time.Minute},
			{Prefix: "room:vip:", Subscribe: RuleGrant, Publish: RuleGrant},
			{Prefix: "group:", Subscribe: RuleGrant, Publish: RuleGrant, Presence: true},
			{Prefix: "feed:", Subscribe: RuleAnyone, Publish: RuleNobody},
			{Prefix: "inbox:", Subscribe: RuleOwner, Publish: RuleOwner},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	alice = &Identity{User: "alice", Grants: Grants{
		Subscribe: []string{"group:7", "room:vip:*"},
		Publish:   []string{"group:7"},
		Presence:  []string{"group:*"},
	}}
	bob  = &Identity{User: "bob"}
	anon = &Identity{}
)

func TestPolicyNamespace(t *testing.T) {
	p := testPolicy(t)
	for ch, want := range map[string]string{
		"room:1": "room:", "room:vip:1": "room:vip:", "room:vip": "room:", "user:alice": "user:",
		"public:lobby": "public:", "news": "", "roomy": "", "user:": "user:",
	} {
		if got := p.Namespace(ch).Prefix; got != want {
			t.Errorf("Namespace(%q) = %q, want %q", ch, got, want)
		}
	}
	if n := p.Namespace("room:1"); n.HistorySize != 50 || n.HistoryTTL != time.Minute || !n.JoinLeave {
		t.Errorf("room namespace %+v", n)
	}
	// Defaults: the personal namespace was added, the default is safe.
	if n := p.Namespace("user:x"); n.Subscribe != RuleOwner || n.Publish != RuleNobody {
		t.Errorf("personal namespace %+v", n)
	}
	if n := p.Namespace("other"); n.Subscribe != RuleGrant || n.Publish != RuleNobody || n.Anonymous {
		t.Errorf("default namespace %+v", n)
	}
	if got := len(p.Namespaces()); got != 8 {
		t.Errorf("%d namespaces, want 8 (6, the personal one, the default)", got)
	}
}

func TestPolicyDecisions(t *testing.T) {
	p := testPolicy(t)
	sub7 := &SubscriptionToken{User: "bob", Channel: "group:7"}
	sub7pub := &SubscriptionToken{User: "bob", Channel: "group:7", Publish: true}
	cases := []struct {
		op  string // sub, pub, prs (presence, not subscribed), prs+ (subscribed)
		id  *Identity
		ch  string
		tok *SubscriptionToken
		why Reason
	}{
		// Personal channels: owner only, whatever grants say.
		{"sub", alice, "user:alice", nil, ReasonAllowed},
		{"sub", bob, "user:alice", nil, ReasonNotOwner},
		{"sub", anon, "user:alice", nil, ReasonAuthRequired},
		{"sub", nil, "user:alice", nil, ReasonAuthRequired},
		{"sub", &Identity{User: "alice", Grants: Grants{Subscribe: []string{"user:*"}}}, "user:bob", nil, ReasonNotOwner},
		{"sub", bob, "user:alice", &SubscriptionToken{User: "bob", Channel: "user:alice"}, ReasonNotOwner},
		{"sub", alice, "user:alicex", nil, ReasonNotOwner},
		{"sub", alice, "user:ali", nil, ReasonNotOwner},
		{"sub", alice, "user:", nil, ReasonNotOwner},
		{"pub", alice, "user:alice", nil, ReasonNoPublish},
		{"pub", alice, "user:bob", nil, ReasonNoPublish},
		// Owner publish.
		{"sub", alice, "inbox:alice", nil, ReasonAllowed},
		{"pub", alice, "inbox:alice", nil, ReasonAllowed},
		{"pub", bob, "inbox:alice", nil, ReasonNotOwner},
		{"pub", anon, "inbox:alice", nil, ReasonAuthRequired},
		// Public: anonymous may read, never write.
		{"sub", anon, "public:lobby", nil, ReasonAllowed},
		{"sub", nil, "public:lobby", nil, ReasonAllowed},
		{"sub", bob, "public:lobby", nil, ReasonAllowed},
		{"pub", anon, "public:lobby", nil, ReasonAuthRequired},
		{"pub", bob, "public:lobby", nil, ReasonAllowed},
		{"prs", anon, "public:lobby", nil, ReasonAllowed},
		// Anyone but not anonymous-enabled: anonymous refused.
		{"sub", anon, "feed:news", nil, ReasonAuthRequired},
		{"sub", bob, "feed:news", nil, ReasonAllowed},
		{"pub", bob, "feed:news", nil, ReasonNoPublish},
		{"pub", anon, "feed:news", nil, ReasonNoPublish},
		// Authenticated.
		{"sub", bob, "room:1", nil, ReasonAllowed},
		{"sub", anon, "room:1", nil, ReasonAuthRequired},
		{"pub", bob, "room:1", nil, ReasonAllowed},
		{"prs", bob, "room:1", nil, ReasonAllowed},
		{"prs", anon, "room:1", nil, ReasonAuthRequired},
		// Grant: by exact name, by prefix, by subscription token.
		{"sub", alice, "group:7", nil, ReasonAllowed},
		{"sub", alice, "group:70", nil, ReasonNoGrant},
		{"sub", bob, "group:7", nil, ReasonNoGrant},
		{"sub", bob, "group:7", sub7, ReasonAllowed},
		{"sub", bob, "group:8", sub7, ReasonNoGrant},
		{"sub", alice, "group:7", &SubscriptionToken{User: "bob", Channel: "group:7"}, ReasonAllowed}, // by her grant
		{"sub", &Identity{User: "carol"}, "group:7", sub7, ReasonNoGrant},                             // bob's token
		{"sub", anon, "group:7", sub7, ReasonAuthRequired},
		{"pub", alice, "group:7", nil, ReasonAllowed},
		{"pub", bob, "group:7", sub7, ReasonNoGrant},
		{"pub", bob, "group:7", sub7pub, ReasonAllowed},
		{"pub", &Identity{User: "carol"}, "group:7", sub7pub, ReasonNoGrant},
		{"sub", alice, "room:vip:1", nil, ReasonAllowed},
		{"sub", bob, "room:vip:1", nil, ReasonNoGrant},
		{"pub", alice, "room:vip:1", nil, ReasonNoGrant}, // subscribe grant only
		// Presence: off, by grant, as a subscriber, as whoever may subscribe.
		{"prs", alice, "room:vip:1", nil, ReasonNoPresence},
		{"prs+", alice, "room:vip:1", nil, ReasonNoPresence},
		{"prs", alice, "group:9", nil, ReasonAllowed}, // presence grant group:*
		{"prs", bob, "group:9", nil, ReasonNoGrant},
		{"prs+", bob, "group:7", nil, ReasonAllowed},
		{"prs", anon, "group:9", nil, ReasonAuthRequired},
		{"prs", alice, "user:alice", nil, ReasonNoPresence},
		// Default namespace: grant to subscribe, no publish.
		{"sub", bob, "news", nil, ReasonNoGrant},
		{"sub", &Identity{User: "bob", Grants: Grants{Subscribe: []string{"news"}}}, "news", nil, ReasonAllowed},
		{"pub", &Identity{User: "bob", Grants: Grants{Publish: []string{"news"}}}, "news", nil, ReasonNoPublish},
	}
	for _, c := range cases {
		var d Decision
		switch c.op {
		case "sub":
			d = p.CanSubscribe(c.id, c.ch, c.tok)
		case "pub":
			d = p.CanPublish(c.id, c.ch, c.tok)
		case "prs":
			d = p.CanSeePresence(c.id, c.ch, false)
		case "prs+":
			d = p.CanSeePresence(c.id, c.ch, true)
		}
		user := "<nil>"
		if c.id != nil {
			user = c.id.User
		}
		if d.Reason != c.why || d.Allowed != (c.why == ReasonAllowed) {
			t.Errorf("%s %q on %q: %+v (%v), want %v", c.op, user, c.ch, d, d.Reason, c.why)
		}
	}
}

func TestPolicyAnonymousOff(t *testing.T) {
	p, err := NewPolicy(PolicyConfig{Namespaces: []Namespace{{Prefix: "public:", Subscribe: RuleAnyone, Anonymous: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.AllowsAnonymous() {
		t.Fatal("anonymous on by default")
	}
	if _, err := p.Anonymous(); AnswerFor(err).Close != CloseMissing {
		t.Fatalf("Anonymous() = %v, want ErrMissing", err)
	}
	// Even a namespace that allows anonymous does not, while the switch is off.
	if d := p.CanSubscribe(anon, "public:x", nil); d.Allowed || d.Reason != ReasonAuthRequired {
		t.Fatalf("anonymous subscribe with anonymous off: %+v", d)
	}
	on, err := NewPolicy(PolicyConfig{Anonymous: true, Default: Namespace{Subscribe: RuleAnyone, Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := on.Anonymous(); err != nil || !id.Anonymous() {
		t.Fatalf("Anonymous() = %+v, %v", id, err)
	}
}

func TestPersonalChannel(t *testing.T) {
	p := testPolicy(t)
	if ch, err := p.PersonalChannel("alice"); err != nil || ch != "user:alice" {
		t.Fatalf("PersonalChannel = %q, %v", ch, err)
	}
	for _, bad := range []string{"", "a b", "a*", strings.Repeat("x", 65), "ä", "a\x00"} {
		if _, err := p.PersonalChannel(bad); err == nil {
			t.Errorf("PersonalChannel(%q) accepted", bad)
		}
	}
	if u, ok := p.PersonalUser("user:bob"); !ok || u != "bob" {
		t.Errorf("PersonalUser = %q %v", u, ok)
	}
	for _, ch := range []string{"room:bob", "user:", "user"} {
		if _, ok := p.PersonalUser(ch); ok {
			t.Errorf("PersonalUser(%q) ok", ch)
		}
	}
	q, err := NewPolicy(PolicyConfig{PersonalPrefix: "u/"})
	if err != nil {
		t.Fatal(err)
	}
	if ch, _ := q.PersonalChannel("bob"); ch != "u/bob" {
		t.Fatalf("custom prefix: %q", ch)
	}
	if d := q.CanSubscribe(alice, "u/bob", nil); d.Reason != ReasonNotOwner {
		t.Fatalf("custom personal namespace: %+v", d)
	}
}

func TestPolicyConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		c    PolicyConfig
		want string
	}{
		{"empty prefix", PolicyConfig{Namespaces: []Namespace{{Prefix: ""}}}, "prefix must be"},
		{"bad prefix bytes", PolicyConfig{Namespaces: []Namespace{{Prefix: "ro om:"}}}, "prefix must be"},
		{"long prefix", PolicyConfig{Namespaces: []Namespace{{Prefix: strings.Repeat("p", 65)}}}, "prefix must be"},
		{"twice", PolicyConfig{Namespaces: []Namespace{{Prefix: "a:"}, {Prefix: "a:"}}}, "configured twice"},
		{"default with prefix", PolicyConfig{Default: Namespace{Prefix: "x"}}, "must have none"},
		{"subscribe nobody", PolicyConfig{Namespaces: []Namespace{{Prefix: "a:", Subscribe: RuleNobody}}}, "subscribe \"nobody\""},
		{"publish anyone", PolicyConfig{Namespaces: []Namespace{{Prefix: "a:", Publish: RuleAnyone}}}, "publish \"anyone\""},
		{"unknown rule", PolicyConfig{Namespaces: []Namespace{{Prefix: "a:", Subscribe: Rule(99)}}}, "Rule(99)"},
		{"owner default", PolicyConfig{Default: Namespace{Subscribe: RuleOwner}}, "owner needs a prefix"},
		{"anonymous without anyone", PolicyConfig{Anonymous: true, Namespaces: []Namespace{{Prefix: "a:", Subscribe: RuleAuthenticated, Anonymous: true}}}, "anonymous needs subscribe anyone"},
		{"anonymous nowhere", PolicyConfig{Anonymous: true}, "no namespace allows them"},
		{"history size", PolicyConfig{Namespaces: []Namespace{{Prefix: "a:", HistorySize: -1}}}, "history size"},
		{"history ttl", PolicyConfig{Namespaces: []Namespace{{Prefix: "a:", HistoryTTL: 31 * 24 * time.Hour}}}, "history ttl"},
		{"personal not owner", PolicyConfig{Namespaces: []Namespace{{Prefix: "user:", Subscribe: RuleAuthenticated}}}, "subscribe must be owner"},
		{"personal writable by all", PolicyConfig{Namespaces: []Namespace{{Prefix: "user:", Subscribe: RuleOwner, Publish: RuleAuthenticated}}}, "publish authenticated"},
		{"inside personal", PolicyConfig{Namespaces: []Namespace{{Prefix: "user:admin", Subscribe: RuleAnyone}}}, `"user:admin" lies inside owner namespace "user:"`},
		{"inside owner", PolicyConfig{Namespaces: []Namespace{{Prefix: "inbox:", Subscribe: RuleOwner}, {Prefix: "inbox:x", Subscribe: RuleGrant}}}, "lies inside"},
		{"bad personal prefix", PolicyConfig{PersonalPrefix: "us er:"}, "personal prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewPolicy(c.c)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "auth: policy: ") {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// The caller's slice is not modified by defaulting.
	ns := []Namespace{{Prefix: "a:"}}
	if _, err := NewPolicy(PolicyConfig{Namespaces: ns}); err != nil || ns[0].Subscribe != RuleDefault {
		t.Fatalf("config modified: %+v %v", ns[0], err)
	}
}

func TestRuleText(t *testing.T) {
	for r := RuleDefault; r <= RuleOwner; r++ {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Rule
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Fatalf("%v round trips to %v, %v", r, back, err)
		}
	}
	var r Rule
	if err := r.UnmarshalText([]byte("everyone")); err == nil {
		t.Fatal("unknown rule accepted")
	}
	if err := r.UnmarshalText(nil); err != nil || r != RuleDefault {
		t.Fatal("empty rule is not the default")
	}
	for reason := ReasonAllowed; reason <= ReasonNoPresence; reason++ {
		if strings.HasPrefix(reason.String(), "Reason(") {
			t.Errorf("reason %d has no text", reason)
		}
	}
	if ReasonAuthRequired.Code() != 401 || ReasonNoGrant.Code() != 403 || ReasonAllowed.Code() != 200 {
		t.Error("reason codes")
	}
}

func TestMatchGrant(t *testing.T) {
	cases := []struct {
		patterns []string
		ch       string
		want     bool
	}{
		{[]string{"room:42"}, "room:42", true},
		{[]string{"room:42"}, "room:420", false},
		{[]string{"room:*"}, "room:420", true},
		{[]string{"room:*"}, "room:", true},
		{[]string{"room:*"}, "room", false},
		{[]string{"*"}, "anything", false}, // refused at verification; never a wildcard
		{[]string{"a", "b*"}, "bc", true},
		{nil, "x", false},
	}
	for _, c := range cases {
		if got := MatchGrant(c.patterns, c.ch); got != c.want {
			t.Errorf("MatchGrant(%q, %q) = %v", c.patterns, c.ch, got)
		}
	}
}
