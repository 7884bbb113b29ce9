package inbox

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The crash child's environment: the directory and the policy.
const (
	crashDirEnv    = "INBOX_CRASH_DIR"
	crashPolicyEnv = "INBOX_CRASH_POLICY"
	crashWriters   = 4
	// crashMaxAppends bounds the child if the parent never kills it; it
	// stays under the default retention, so nothing is trimmed.
	crashMaxAppends = 5000
	// crashKillAfter is how many acknowledgements the parent reads before
	// it kills the child.
	crashKillAfter = 300
)

// TestCrashChild is the child of TestCrash: it appends to alice and bob
// (one fan-out append, as a DM is) from several goroutines as fast as it
// can, and prints each acknowledgement, "ack W I SEQA SEQB", once Append
// has returned. It does nothing unless TestCrash started it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	pol, err := ParseDurability(os.Getenv(crashPolicyEnv))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir, Options{Durability: pol, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; next.Add(1) <= crashMaxAppends; i++ {
				m := Message{Conversation: "dm:alice:bob", From: "alice",
					Payload: []byte(`{"w":` + strconv.Itoa(w) + `,"i":` + strconv.Itoa(i) + `}`)}
				a, err := d.Append(bg, []string{"alice", "bob"}, m)
				if err != nil {
					t.Error(err)
					return
				}
				// One write(2) per line, under PIPE_BUF: lines never
				// interleave.
				line := "ack " + strconv.Itoa(w) + " " + strconv.Itoa(i) + " " +
					strconv.FormatUint(a[0].Seq, 10) + " " + strconv.FormatUint(a[1].Seq, 10) + "\n"
				if _, err := os.Stdout.WriteString(line); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	d.Close()
}

type crashAck struct{ w, i, seqA, seqB int }

// TestCrash kills a child that is appending (SIGKILL, mid-stream), reopens
// its store, and checks that every append the child saw acknowledged is
// there at its seq, in each writer's order, none twice, and that each
// fan-out append reached both logs or neither: for every policy, since
// each promises to survive a process crash.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	for _, pol := range []Durability{DurabilityAlways, DurabilityGroup, DurabilityOS} {
		t.Run(pol.String(), func(t *testing.T) {
			dir := t.TempDir()
			acks := runCrashChild(t, dir, pol)
			if len(acks) < crashKillAfter {
				t.Fatalf("child acknowledged %d appends before it died", len(acks))
			}
			d, err := Open(dir, Options{Durability: pol, SweepInterval: -1})
			if err != nil {
				t.Fatalf("reopen after kill: %v", err)
			}
			defer d.Close()
			alice := crashLog(t, d, "alice")
			bob := crashLog(t, d, "bob")
			for _, a := range acks {
				if a.seqA < 1 || a.seqA > len(alice) || a.seqB < 1 || a.seqB > len(bob) {
					t.Fatalf("acknowledged %+v is missing: alice holds %d entries, bob %d", a, len(alice), len(bob))
				}
				key := [2]int{a.w, a.i}
				if alice[a.seqA-1] != key || bob[a.seqB-1] != key {
					t.Fatalf("acknowledged %+v: alice holds %v at %d, bob %v at %d",
						a, alice[a.seqA-1], a.seqA, bob[a.seqB-1], a.seqB)
				}
			}
			if len(alice) != len(bob) {
				t.Fatalf("a fan-out append was torn: alice holds %d, bob %d", len(alice), len(bob))
			}
			inBob := make(map[[2]int]bool, len(bob))
			for _, k := range bob {
				inBob[k] = true
			}
			for _, k := range alice {
				if !inBob[k] {
					t.Fatalf("append %v reached alice and not bob", k)
				}
			}
			t.Logf("%s: %d acknowledged before the kill, %d stored", pol, len(acks), len(alice))
		})
	}
}

// runCrashChild starts the child, kills it after crashKillAfter
// acknowledgements, and returns every acknowledgement it printed.
func runCrashChild(t *testing.T, dir string, pol Durability) []crashAck {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashPolicyEnv+"="+pol.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The kill is decided by what the child printed; the deadline only
	// stops a child that hangs.
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	var acks []crashAck
	var other []string // the child's test output, for a failure message
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != "ack" {
			other = append(other, sc.Text())
			continue
		}
		var a crashAck
		for i, p := range []*int{&a.w, &a.i, &a.seqA, &a.seqB} {
			if *p, err = strconv.Atoi(f[i+1]); err != nil {
				t.Fatalf("child printed %q", sc.Text())
			}
		}
		acks = append(acks, a)
		if len(acks) == crashKillAfter && !killed {
			// Lines already in the pipe are acknowledged too: keep reading
			// to EOF.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before %d acknowledgements: %v\n%s", crashKillAfter, err, strings.Join(other, "\n"))
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
	return acks
}

// crashLog reads a user's whole log and returns each entry's (writer,
// index), checking seqs are gapless from 1, that each writer's appends are
// in its order, and that none is stored twice.
func crashLog(t *testing.T, d *DB, user string) [][2]int {
	entries := readAll(t, d, user, 0, 0)
	if s := mustState(t, d, user); s.Oldest != 1 || s.Top != uint64(len(entries)) {
		t.Fatalf("%s: state %+v with %d entries", user, s, len(entries))
	}
	checkSeqs(t, entries, 1, uint64(len(entries)))
	last := make(map[int]int)
	keys := make([][2]int, len(entries))
	seen := make(map[[2]int]bool)
	for n, e := range entries {
		var p struct{ W, I int }
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		k := [2]int{p.W, p.I}
		if seen[k] {
			t.Fatalf("%s: append %v stored twice", user, k)
		}
		seen[k] = true
		if prev, ok := last[p.W]; ok && p.I <= prev {
			t.Fatalf("%s: writer %d's append %d after its %d", user, p.W, p.I, prev)
		}
		last[p.W] = p.I
		keys[n] = k
	}
	return keys
}
