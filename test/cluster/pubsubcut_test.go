//go:build unix

package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comet-im/comet/internal/testredis"
)

// socketAddrs returns the local addresses (127.0.0.1:port) of the TCP
// sockets process pid holds, from its fd table and /proc/net/tcp.
func socketAddrs(pid int) (map[string]bool, error) {
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || !inodes[f[9]] {
			continue
		}
		// local_address is HEXIP:HEXPORT, the IP little-endian.
		ipHex, portHex, _ := strings.Cut(f[1], ":")
		ip, err1 := strconv.ParseUint(ipHex, 16, 32)
		port, err2 := strconv.ParseUint(portHex, 16, 16)
		if err1 != nil || err2 != nil {
			continue
		}
		out[fmt.Sprintf("%d.%d.%d.%d:%d", ip&0xff, ip>>8&0xff, ip>>16&0xff, ip>>24, port)] = true
	}
	return out, nil
}

// cutPubSub kills, on Redis server rd, the pub/sub connections of the node
// n only (CLIENT KILL ID for each of them) and returns how many it killed.
func cutPubSub(rd *testredis.Server, n *node) (int, error) {
	mine, err := socketAddrs(n.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	v, err := rd.Do("CLIENT", "LIST", "TYPE", "pubsub")
	if err != nil {
		return 0, err
	}
	list, _ := v.(string)
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id, addr string
		for _, kv := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(kv, "id="); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(kv, "addr="); ok {
				addr = v
			}
		}
		if id == "" || !mine[addr] {
			continue
		}
		if _, err := rd.Do("CLIENT", "KILL", "ID", id); err != nil {
			return killed, err
		}
		killed++
	}
	return killed, nil
}

// TestPubSubLinkCut: the Redis pub/sub connection of one node killed again
// and again (CLIENT KILL of that node's connections only) while messages
// flow from publishers on every node. Each time, that node reconnects and
// reads back from the streams what it missed: its clients, on every
// transport, get every message once, in order.
func TestPubSubLinkCut(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}, noProxy: true})
	victim := c.nodes[0]
	channels := []string{"room:p1", "room:p2", "room:p3"}
	var recs []*record
	recs = append(recs, subscribeWS(t, "ws@victim", fixed(victim.WS()), channels, wsOptions{}).rec)
	for _, kind := range []string{"sse", "poll", "stream", "iframe"} {
		recs = append(recs, subscribeHTTP(t, kind, kind+"@victim", fixed(victim.URL()), channels, httpOptions{}).rec)
	}
	// A subscriber on another node, whose link is never cut, for contrast.
	recs = append(recs, subscribeWS(t, "ws@n2", fixed(c.nodes[1].WS()), channels, wsOptions{}).rec)

	pubs := map[string]publisher{}
	for _, n := range c.nodes {
		pubs["api@"+n.name] = newAPIPub(fixed(n.URL()), nil)
	}
	l := newLedger()
	var mu sync.Mutex
	cuts, killed := 0, 0
	var cutErr error
	publishAll(t, l, pubs, channels, 40, func(pub string, k int) {
		if pub != "api@n2" || k%12 != 5 {
			return
		}
		// Cut a link that is up, so that every cut cuts something.
		err := waitPubSub(rd, victim, 20*time.Second)
		n := 0
		if err == nil {
			n, err = cutPubSub(rd, victim)
		}
		mu.Lock()
		cuts++
		killed += n
		if err != nil && cutErr == nil {
			cutErr = err
		}
		mu.Unlock()
	})
	if cutErr != nil {
		t.Fatal(cutErr)
	}
	// A cut that found nothing tested nothing.
	if killed < cuts {
		t.Fatalf("%d cuts killed %d pub/sub connections of the victim", cuts, killed)
	}
	t.Logf("%d cuts killed %d pub/sub connections of the victim", cuts, killed)
	waitAll(t, l, channels, recs, 45*time.Second)
	verify(t, l, channels, recs, nil)

	// The link is back: the victim holds a pub/sub connection again.
	if err := waitPubSub(rd, victim, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// waitPubSub waits until node n holds a pub/sub connection to rd. Redis
// tells nobody when a client subscribes, so its client list is polled.
func waitPubSub(rd *testredis.Server, n *node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		mine, _ := socketAddrs(n.cmd.Process.Pid)
		v, _ := rd.Do("CLIENT", "LIST", "TYPE", "pubsub")
		list, _ := v.(string)
		for a := range mine {
			if strings.Contains(list, "addr="+a+" ") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s has no pub/sub connection after %s:\n%s", n.name, timeout, list)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
