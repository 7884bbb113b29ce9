package auth

import (
	"strings"
	"testing"
	"time"
)

func TestDemoIssuer(t *testing.T) {
	d, err := NewDemoIssuer(DemoConfig{TTL: 10 * time.Minute, Now: fixedNow,
		Grants: Grants{Subscribe: []string{"room:*"}, Publish: []string{"room:*"}}})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, VerifierConfig{Keys: []Key{d.Key()}})
	tok, exp, err := d.Issue("alice", "tab-1")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(testNow.Add(10 * time.Minute)) {
		t.Fatalf("expiry %v", exp)
	}
	id, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "alice" || id.Client != "tab-1" || !id.Expiry.Equal(exp) ||
		!MatchGrant(id.Grants.Publish, "room:1") || string(id.Info) != `{"demo":true,"name":"alice"}` {
		t.Fatalf("identity %+v info %s", id, id.Info)
	}
	for _, bad := range []string{"", "a b", "<b>", strings.Repeat("n", 65)} {
		if _, _, err := d.Issue(bad, ""); err == nil {
			t.Errorf("Issue(%q) accepted", bad)
		}
	}
	// Two issuers never share a secret: one's tokens fail on the other.
	other, err := NewDemoIssuer(DemoConfig{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(t, VerifierConfig{Keys: []Key{other.Key()}}).Verify(tok); err == nil {
		t.Fatal("a demo token verified against another issuer's key")
	}
	if _, err := NewDemoIssuer(DemoConfig{Grants: Grants{Subscribe: []string{"*"}}}); err == nil {
		t.Fatal("bad demo grants accepted")
	}
}
