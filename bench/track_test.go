package bench

import "testing"

func TestTrackerCountsGapsAndRepeats(t *testing.T) {
	tests := []struct {
		name                   string
		keys                   []int64
		published              int64
		unique, dups, lost, re int64
	}{
		{"in order", []int64{0, 1, 2, 3, 4}, 5, 5, 0, 0, 0},
		{"gap", []int64{0, 1, 3, 4}, 5, 4, 0, 1, 0},
		{"tail lost", []int64{0, 1, 2}, 5, 3, 0, 2, 0},
		{"nothing", nil, 3, 0, 0, 3, 0},
		{"repeat", []int64{0, 1, 1, 2, 2, 2}, 3, 3, 3, 0, 0},
		{"reorder", []int64{1, 0, 2}, 3, 3, 0, 0, 1},
		{"gap and repeat", []int64{0, 2, 2, 4, 130, 4}, 131, 4, 2, 127, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			for _, k := range tt.keys {
				tr.Observe(k)
			}
			if tr.Unique() != tt.unique || tr.Dups() != tt.dups || tr.Lost(0, tt.published) != tt.lost || tr.Reordered() != tt.re {
				t.Errorf("unique/dups/lost/reordered = %d/%d/%d/%d, want %d/%d/%d/%d",
					tr.Unique(), tr.Dups(), tr.Lost(0, tt.published), tr.Reordered(), tt.unique, tt.dups, tt.lost, tt.re)
			}
		})
	}
}

func TestTrackerIgnoresOutOfRangeKeys(t *testing.T) {
	var tr Tracker
	tr.Observe(-1)
	tr.Observe(maxTrackedKey)
	if tr.Unique() != 0 || tr.Invalid() != 2 {
		t.Fatalf("unique %d invalid %d", tr.Unique(), tr.Invalid())
	}
}

func TestSeqGaps(t *testing.T) {
	tests := []struct {
		name             string
		from             int64
		seqs             []int64
		missing, repeats int64
	}{
		{"contiguous", 0, []int64{1, 2, 3}, 0, 0},
		{"from subscribe reply", 41, []int64{42, 43}, 0, 0},
		{"first lost", 41, []int64{43, 44}, 1, 0},
		{"hole", 0, []int64{1, 2, 5, 6}, 2, 0},
		{"repeat", 0, []int64{1, 2, 2, 3}, 0, 1},
		{"back", 0, []int64{5, 6, 3, 7}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g SeqGaps
			g.From(tt.from)
			for _, s := range tt.seqs {
				g.Observe(s)
			}
			if g.Missing != tt.missing || g.Repeats != tt.repeats {
				t.Errorf("missing/repeats = %d/%d, want %d/%d", g.Missing, g.Repeats, tt.missing, tt.repeats)
			}
		})
	}
}

func TestTrackerMissing(t *testing.T) {
	var tr Tracker
	for _, k := range []int64{0, 2, 3, 6} {
		tr.Observe(k)
	}
	got := tr.Missing(nil, 0, 9, 3)
	if len(got) != 3 || got[0] != 1 || got[1] != 4 || got[2] != 5 {
		t.Fatalf("Missing = %v, want [1 4 5]", got)
	}
}
