package bench

import (
	"net"
	"os"
	"slices"
	"testing"
)

func TestSampleProcsReadsThisProcess(t *testing.T) {
	s := SampleProcs([]int{os.Getpid()})
	if s.Procs < 1 || s.RSSKiB <= 0 || s.Threads < 1 || s.CPUSec < 0 {
		t.Fatalf("sample %+v", s)
	}
	if none := SampleProcs([]int{1 << 30}); none.Procs != 0 || none.RSSKiB != 0 {
		t.Fatalf("missing pid read as %+v", none)
	}
}

func TestListenerPIDsFindsThisProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if pids := ListenerPIDs(ln.Addr().String()); !slices.Contains(pids, os.Getpid()) {
		t.Fatalf("ListenerPIDs = %v, want to contain %d", pids, os.Getpid())
	}
}

func TestStatFieldsSurvivesOddCommandNames(t *testing.T) {
	f := statFields([]byte("42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0"))
	if len(f) < 13 || f[0] != "S" || f[1] != "1" || f[11] != "7" || f[12] != "3" {
		t.Fatalf("fields %q", f)
	}
}

func TestParseCPUList(t *testing.T) {
	for list, want := range map[string]int{"0": 1, "0-1": 2, "0-3,8,10-11": 7, "": 0, "1-0": 0, "x": 0, "0-": 0} {
		if got := parseCPUList(list); got != want {
			t.Errorf("parseCPUList(%q) = %d, want %d", list, got, want)
		}
	}
}
