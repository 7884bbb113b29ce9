package main

import (
	"flag"
	"testing"
)

// Every flag reads COMET_<NAME>; a flag on the command line wins.
func TestApplyEnv(t *testing.T) {
	fs := flag.NewFlagSet("comet", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "")
	key := fs.String("api-key", "", "")
	hist := fs.Int("history-size", 0, "")
	if err := fs.Parse([]string{"-addr", "127.0.0.1:9000"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"COMET_ADDR":         "127.0.0.1:1", // loses to the flag
		"COMET_API_KEY":      "secret",
		"COMET_HISTORY_SIZE": "7",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := applyEnv(fs, lookup); err != nil {
		t.Fatal(err)
	}
	if *addr != "127.0.0.1:9000" || *key != "secret" || *hist != 7 {
		t.Fatalf("addr %q key %q history %d", *addr, *key, *hist)
	}

	fresh := flag.NewFlagSet("comet", flag.ContinueOnError)
	fresh.Int("history-size", 0, "")
	env = map[string]string{"COMET_HISTORY_SIZE": "lots"}
	if err := applyEnv(fresh, lookup); err == nil {
		t.Fatal("a malformed COMET_HISTORY_SIZE was accepted")
	}
}
