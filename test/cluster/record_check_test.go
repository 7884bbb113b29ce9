//go:build unix

package cluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestCheckCatchesEveryFault feeds the checker records with one fault each
// and expects it to name that fault, and none for a clean record: a checker
// that passes everything would make every cluster test pass.
func TestCheckCatchesEveryFault(t *testing.T) {
	t.Parallel()
	l := newLedger()
	for s := uint64(1); s <= 5; s++ {
		l.ack("c", s, fmt.Sprintf("m%d", s))
	}
	data := func(id string) json.RawMessage { b, _ := json.Marshal(payload{P: id}); return b }
	rec := func(name string, seqs ...uint64) *record {
		r := newRecord(name)
		for _, s := range seqs {
			r.add("c", s, data(fmt.Sprintf("m%d", s)))
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *record
		want string // "" for none
	}{
		{"clean", rec("clean", 1, 2, 3, 4, 5), ""},
		{"gap", rec("gap", 1, 2, 4, 5), "got seq 4, want 3"},
		{"duplicate", rec("dup", 1, 2, 2, 3, 4, 5), "got seq 2, want 3"},
		{"reordered", rec("reorder", 1, 3, 2, 4, 5), "got seq 3, want 2"},
		{"tail lost", rec("tail", 1, 2, 3), "received up to seq 3, but seq 5 was acknowledged"},
		{"late start", rec("late", 2, 3, 4, 5), "got seq 2, want 1"},
		{"wrong payload", func() *record {
			r := rec("payload", 1, 2)
			r.add("c", 3, data("other"))
			r.add("c", 4, data("m4"))
			r.add("c", 5, data("m5"))
			return r
		}(), `seq 3 carries "other", want "m3"`},
		{"anomaly", func() *record { r := rec("anomaly", 1, 2, 3, 4, 5); r.anomaly("open with gap"); return r }(), "open with gap"},
	} {
		got := strings.Join(check(l, []string{"c"}, []*record{tc.r}, nil), "\n")
		if tc.want == "" && got != "" {
			t.Errorf("%s: unexpected problems:\n%s", tc.name, got)
		}
		if tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q do not mention %q", tc.name, got, tc.want)
		}
	}

	// A seq acknowledged for two payloads, and a payload acknowledged as two
	// seqs (a retry stored twice), are the publishers' faults.
	l.ack("c", 5, "twice")
	l.ack("c", 6, "m1")
	got := strings.Join(check(l, []string{"c"}, nil, nil), "\n")
	for _, want := range []string{`seq 5 acknowledged for "m5" and for "twice"`, `"m1" acknowledged as seq 1 and as seq 6`} {
		if !strings.Contains(got, want) {
			t.Errorf("ledger problems %q do not mention %q", got, want)
		}
	}
}
