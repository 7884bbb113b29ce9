package bench

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ProcSample is a server's footprint summed over its processes: the root
// PIDs a Target reports plus all their descendants (nginx's workers).
type ProcSample struct {
	At      time.Time
	Procs   int
	RSSKiB  int64   // sum of VmRSS from /proc/<pid>/status
	CPUSec  float64 // sum of utime+stime from /proc/<pid>/stat
	Threads int64   // sum of Threads from /proc/<pid>/status
	// Groups holds the same per group of a Grouped target (nil otherwise).
	Groups map[string]ProcSample
}

// clockTicks is USER_HZ, 100 on every Linux build Go supports here.
const clockTicks = 100

// SampleProcs reads /proc for roots and their descendants. Missing
// processes are skipped, so a crashed server reads as zero.
func SampleProcs(roots []int) ProcSample {
	s := ProcSample{At: time.Now()}
	for _, pid := range withDescendants(roots) {
		status, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
		if err != nil {
			continue
		}
		s.Procs++
		s.RSSKiB += statusField(status, "VmRSS:")
		s.Threads += statusField(status, "Threads:")
		if stat, err := os.ReadFile("/proc/" + itoa(pid) + "/stat"); err == nil {
			f := statFields(stat)
			// Fields 14 and 15 (1-based) are utime and stime, in ticks.
			if len(f) > 12 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				s.CPUSec += float64(ut+st) / clockTicks
			}
		}
	}
	return s
}

// statFields splits /proc/<pid>/stat after the command name, which may
// itself hold spaces and parentheses; the result starts at field 3 (state).
func statFields(stat []byte) []string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(stat[i+1:]))
}

func statusField(status []byte, key string) int64 {
	i := bytes.Index(status, []byte(key))
	if i < 0 {
		return 0
	}
	rest := status[i+len(key):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	f := strings.Fields(string(rest))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseInt(f[0], 10, 64)
	return v
}

// withDescendants returns roots and every process whose parent chain leads
// to one of them.
func withDescendants(roots []int) []int {
	if len(roots) == 0 {
		return nil
	}
	parent := map[int]int{}
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		f := statFields(b)
		pid, err1 := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if len(f) < 2 || err1 != nil {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid] = ppid
	}
	in := map[int]bool{}
	for _, r := range roots {
		in[r] = true
	}
	out := append([]int(nil), roots...)
	for pid := range parent {
		for p, hops := parent[pid], 0; p > 1 && hops < 64; p, hops = parent[p], hops+1 {
			if in[p] && !in[pid] {
				in[pid] = true
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// MachineNote describes this machine for the results: CPUs, memory, OS
// release and Go version.
func MachineNote() string {
	mem := int64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = statusField(b, "MemTotal:")
	}
	osName := runtime.GOOS
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	return fmt.Sprintf("machine: %d CPUs, %.1f GiB RAM, %s, %s, loopback networking", onlineCPUs(), float64(mem)/(1<<20), osName, runtime.Version())
}

// onlineCPUs counts the machine's CPUs from /sys/devices/system/cpu/online
// ("0-1,4"), not the ones this process may use: under -pin cometbench runs
// on one.
func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return runtime.NumCPU()
	}
	n := parseCPUList(strings.TrimSpace(string(b)))
	if n == 0 {
		return runtime.NumCPU()
	}
	return n
}

// parseCPUList counts the CPUs in a kernel CPU list such as "0-3,8,10-11";
// 0 when it is malformed.
func parseCPUList(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a {
			return 0
		}
		n += b - a + 1
	}
	return n
}

// ListenerPIDs finds the processes that hold a listening TCP socket on
// addr's port (from /proc/net/tcp{,6} and /proc/<pid>/fd), so that a server
// the harness did not start is still measured. Needs permission to read the
// other process's fd table (same user or root); returns nil otherwise.
func ListenerPIDs(addr string) []int {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	port, _ := strconv.Atoi(portStr)
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is field 10.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		fds, _ := filepath.Glob(d + "/fd/*")
		for _, fd := range fds {
			if target, err := os.Readlink(fd); err == nil && inodes[target] {
				pid, _ := strconv.Atoi(filepath.Base(d))
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
