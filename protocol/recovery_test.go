package protocol

import (
	"math"
	"testing"

	"github.com/comet-im/comet/broker"
)

// TestLiveStep pins the live rule, and that LiveNext, the fan-out's
// inlined first test, says LiveDeliver exactly where LiveStep does.
func TestLiveStep(t *testing.T) {
	empty := string(AppendEmptyEpoch(nil, 1795317946582))
	for _, tc := range []struct {
		epoch  string
		seq    uint64
		pEpoch string
		pSeq   uint64
		want   Live
	}{
		{"e.1", 4, "e.1", 5, LiveDeliver},
		{"e.1", 0, "e.1", 1, LiveDeliver},
		{"e.1", 5, "e.1", 5, LiveSkip},
		{"e.1", 5, "e.1", 2, LiveSkip},
		{"e.1", 4, "e.1", 6, LiveGap},
		{"e.1", 4, "e.2", 5, LiveGap},
		{"e.1", 0, "e.2", 1, LiveGap},
		{empty, 0, "e.2", 1, LiveAdopt},
		{empty, 0, "e.2", 2, LiveGap},
		{"e.1", 4, "e.1", 0, LiveSkip},              // ephemeral: never next
		{"e.1", math.MaxUint64, "e.1", 0, LiveSkip}, // not next by wrap-around either
	} {
		p := &broker.Publication{Epoch: tc.pEpoch, Seq: tc.pSeq}
		if got := LiveStep(tc.epoch, tc.seq, p); got != tc.want {
			t.Errorf("LiveStep(%q, %d, %q/%d) = %d, want %d", tc.epoch, tc.seq, tc.pEpoch, tc.pSeq, got, tc.want)
		}
		if got := LiveNext(tc.epoch, tc.seq, tc.pEpoch, tc.pSeq); got != (tc.want == LiveDeliver) {
			t.Errorf("LiveNext(%q, %d, %q/%d) = %v, want %v", tc.epoch, tc.seq, tc.pEpoch, tc.pSeq, got, tc.want == LiveDeliver)
		}
	}
}
