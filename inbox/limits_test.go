package inbox

import (
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero options: %v", err)
	}
	for name, o := range map[string]Options{
		"durability":   {Durability: 7},
		"window":       {GroupWindow: -1},
		"payload":      {MaxPayloadBytes: 32 << 20},
		"recipients":   {MaxRecipients: -1},
		"append bytes": {MaxPayloadBytes: 1000, MaxAppendBytes: 10},
		"idempotency":  {IdempotencyWindow: 30 * 24 * 3600e9},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
		if _, err := Open(t.TempDir(), o); err == nil {
			t.Errorf("%s: Open accepted %+v", name, o)
		}
	}
	for _, s := range []string{"always", "group", "os"} {
		if d, err := ParseDurability(s); err != nil || d.String() != s {
			t.Errorf("ParseDurability(%q) = %v, %v", s, d, err)
		}
	}
	if _, err := ParseDurability("sometimes"); err == nil {
		t.Error("ParseDurability accepted sometimes")
	}
}
