package auth

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func FuzzExtract(f *testing.F) {
	f.Add("Bearer abc.def.ghi", "", "")
	f.Add("", "ch=room:1&token=abc", "")
	f.Add("", "token=a%2Eb&token=c", "")
	f.Add("Basic x", "to%6Ben=x", "comet_token=\"c\"; a=b")
	f.Add("bearer  ", "token=%zz", "comet_token=")
	tt := &TokenTransport{Cookie: "comet_token", MaxTokenBytes: 64}
	f.Fuzz(func(t *testing.T, authorization, query, cookie string) {
		tok, src, err := tt.Extract(TokenRequest{Authorization: authorization, Query: query, Cookie: cookie})
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			if tok != "" {
				t.Fatalf("token %q with error %v", tok, err)
			}
		} else if tok == "" || len(tok) > 64 {
			t.Fatalf("token %q from %v", tok, src)
		}
		switch src {
		case SourceHeader:
			if err == nil && !strings.Contains(authorization, tok) {
				t.Fatalf("header token %q not in %q", tok, authorization)
			}
		case SourceCookie:
			if !strings.Contains(cookie, tok) {
				t.Fatalf("cookie token %q not in %q", tok, cookie)
			}
		}
		// net/url is the oracle for the query, when the header does not win.
		if _, isBearer, _ := bearer(authorization); isBearer {
			return
		}
		values, perr := url.ParseQuery(query)
		if perr != nil || strings.Contains(query, ";") {
			return
		}
		switch got := values["token"]; {
		case len(got) > 1:
			if src != SourceQuery || !errors.Is(err, ErrInvalid) {
				t.Fatalf("query %q: %q %v %v, want token given twice", query, tok, src, err)
			}
		case len(got) == 1 && got[0] != "" && len(got[0]) <= 64:
			if src != SourceQuery || tok != got[0] {
				t.Fatalf("query %q: %q %v %v, want %q", query, tok, src, err, got[0])
			}
		}
	})
}

func FuzzPolicy(f *testing.F) {
	f.Add("alice", "user:alice", "room:*")
	f.Add("bob", "group:7", "group:7")
	f.Add("", "public:lobby", "")
	f.Add("alice", "room:vip:1", "room:vip:*")
	f.Add("a", "inbox:a", "inbox:*")
	p := testPolicy(f)
	f.Fuzz(func(t *testing.T, user, channel, grant string) {
		if !validChannel(channel) || (user != "" && !ValidUserID(user)) {
			return // the server validates names before asking
		}
		id := &Identity{User: user}
		if validPattern(grant) {
			id.Grants = Grants{Subscribe: []string{grant}, Publish: []string{grant}, Presence: []string{grant}}
		}
		n := p.Namespace(channel)
		if !strings.HasPrefix(channel, n.Prefix) {
			t.Fatalf("namespace %q for %q", n.Prefix, channel)
		}
		for _, m := range p.Namespaces() {
			if len(m.Prefix) > len(n.Prefix) && strings.HasPrefix(channel, m.Prefix) {
				t.Fatalf("namespace %q chosen for %q over the longer %q", n.Prefix, channel, m.Prefix)
			}
		}
		// The naive oracle for a grant.
		want := grant == channel
		if k := len(grant) - 1; k > 0 && grant[k] == '*' {
			want = len(channel) >= k && channel[:k] == grant[:k]
		}
		if validPattern(grant) && MatchGrant([]string{grant}, channel) != want {
			t.Fatalf("MatchGrant(%q, %q) != %v", grant, channel, want)
		}
		for _, d := range []Decision{
			p.CanSubscribe(id, channel, nil), p.CanPublish(id, channel, nil), p.CanSeePresence(id, channel, false),
		} {
			if d.Allowed != (d.Reason == ReasonAllowed) {
				t.Fatalf("decision %+v", d)
			}
		}
		sub := p.CanSubscribe(id, channel, nil)
		if user == "" {
			if sub.Allowed != (n.Prefix == "public:") {
				t.Fatalf("anonymous subscribe to %q: %+v", channel, sub)
			}
			if p.CanPublish(id, channel, nil).Allowed {
				t.Fatalf("anonymous publish to %q allowed", channel)
			}
		}
		// Personal channels: nobody but the owner reads, whatever the grant.
		if owner, ok := strings.CutPrefix(channel, "user:"); ok && n.Prefix == "user:" {
			if sub.Allowed != (user != "" && owner == user) {
				t.Fatalf("%q subscribe to %q: %+v", user, channel, sub)
			}
		}
		// A subscription token for another user opens nothing.
		tok := &SubscriptionToken{User: user + "x", Channel: channel, Publish: true}
		if user != "" && p.CanSubscribe(id, channel, tok) != sub {
			t.Fatalf("someone else's subscription token changed the decision on %q", channel)
		}
	})
}

func FuzzVerifyClaims(f *testing.F) {
	f.Add([]byte(`{"sub":"alice","exp":1900000000}`))
	f.Add([]byte(`{"sub":"alice","exp":1900000000,"channels":["room:*"],"info":{"a":1}}`))
	f.Add([]byte(`{"sub":"a","exp":1e99,"grants":{"publish":["x*"]},"client":"c"}`))
	f.Add([]byte(`{"sub":"a","exp":-1,"nbf":"x","aud":[1]}`))
	f.Add([]byte(`{"sub":"alice","exp":1900000000,"channel":"room:1"}`))
	v := newVerifier(f, VerifierConfig{Keys: []Key{{Secret: hsSecret}}})
	f.Fuzz(func(t *testing.T, body []byte) {
		var raw json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			raw = json.RawMessage(`"not json"`)
		}
		tok := rawToken(t, map[string]string{"alg": "HS256", "typ": "JWT"}, raw, hsSecret, "")
		id, err := v.Verify(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			return
		}
		if !ValidUserID(id.User) || (id.Client != "" && !ValidUserID(id.Client)) {
			t.Fatalf("identity %+v", id)
		}
		if id.Grants.count() > DefaultMaxGrants {
			t.Fatalf("%d grants", id.Grants.count())
		}
		for _, list := range [][]string{id.Grants.Subscribe, id.Grants.Publish, id.Grants.Presence} {
			for _, p := range list {
				if !validPattern(p) {
					t.Fatalf("grant %q", p)
				}
			}
		}
		if id.Info != nil {
			var obj map[string]any
			if len(id.Info) > DefaultMaxInfoBytes || json.Unmarshal(id.Info, &obj) != nil {
				t.Fatalf("info %s", id.Info)
			}
		}
	})
}

func FuzzVerifyToken(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.x")
	f.Add("a.b.c")
	f.Add("...")
	f.Add(rawToken(f, map[string]string{"alg": "none"}, map[string]string{"sub": "a"}, nil, ""))
	v := newVerifier(f, VerifierConfig{Keys: []Key{{Secret: hsSecret}}})
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := v.Verify(tok)
		if err == nil {
			// Only a token signed with hsSecret passes; the fuzzer cannot forge one.
			if _, perr := jwt.Parse(tok, func(*jwt.Token) (any, error) { return hsSecret, nil }, jwt.WithoutClaimsValidation()); perr != nil {
				t.Fatalf("verified %q as %+v, but it is not signed with the key", tok, id)
			}
		}
	})
}
