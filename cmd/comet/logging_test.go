package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A repeated warning is written once per interval, the next line saying
// how many were suppressed; other messages and lower levels pass.
func TestRepeatLimiter(t *testing.T) {
	var buf bytes.Buffer
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	log := newLogger(&buf, "json", level)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	emit := func(l slog.Level, msg string, d time.Duration) {
		r := slog.NewRecord(at.Add(d), l, msg, 0)
		_ = log.Handler().Handle(context.Background(), r)
	}
	for i := 0; i < 5; i++ {
		emit(slog.LevelWarn, "storm", time.Duration(i)*time.Second/10)
		emit(slog.LevelDebug, "detail", time.Duration(i)*time.Second/10)
	}
	emit(slog.LevelError, "other", 0)
	emit(slog.LevelWarn, "storm", 6*time.Second)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		lines = append(lines, m)
	}
	count := map[string]int{}
	for _, m := range lines {
		count[m["msg"].(string)]++
	}
	if count["storm"] != 2 || count["detail"] != 5 || count["other"] != 1 {
		t.Fatalf("lines by message: %v", count)
	}
	last := lines[len(lines)-1]
	if last["msg"] != "storm" || last["suppressed"] != float64(4) {
		t.Fatalf("the line after the storm: %v", last)
	}
	// With attributes the limiter still counts by message.
	r := slog.NewRecord(at.Add(6500*time.Millisecond), slog.LevelWarn, "storm", 0)
	_ = log.With("k", "v").Handler().Handle(context.Background(), r)
	if strings.Count(buf.String(), `"msg":"storm"`) != 2 {
		t.Fatal("a With logger escaped the limit")
	}
}

// The dashboard's tokens verify with the node's verifier, carry the
// configured issuer and audience, and grant the feed alone.
func TestDashIssuer(t *testing.T) {
	d := newDashIssuer()
	if !strings.HasPrefix(d.channel, dashPrefix+"stats:") {
		t.Fatalf("channel %q", d.channel)
	}
	o := &authOptions{mode: "jwt", jwtSecret: strings.Repeat("s", 32), jwtAlgs: "HS256", jwtIssuer: "backend", jwtAudience: "comet"}
	id := &identity{dash: d}
	a, err := buildAuth(o, id)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := d.issue()
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(exp) > dashTokenTTL || time.Until(exp) < dashTokenTTL-time.Minute {
		t.Fatalf("expiry %v", exp)
	}
	ident, err := a.Verifier.Verify(tok)
	if err != nil {
		t.Fatalf("the node's verifier refuses the dashboard token: %v", err)
	}
	if ident.User != dashUser || !a.Policy.CanSubscribe(&ident, d.channel, nil).Allowed {
		t.Fatalf("identity %+v may not read %s", ident, d.channel)
	}
	other := &identity{dash: newDashIssuer()}
	if _, err := buildAuth(o, other); err != nil {
		t.Fatal(err)
	}
	if a.Policy.CanSubscribe(&ident, other.dash.channel, nil).Allowed {
		t.Fatal("a dashboard token opens another node's feed")
	}
	// Another process's key does not verify here.
	tok2, _, _ := other.dash.issue()
	if _, err := a.Verifier.Verify(tok2); err == nil {
		t.Fatal("a token of another key verified")
	}
}
