package server

import (
	"bytes"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/comet-im/comet/codec"
	"github.com/panjf2000/gnet/v2"
)

// Admission control: a node-wide cap on connections and a cap per client
// address, decided in OnOpen before a session exists. A refused
// connection is answered "503 Service Unavailable" with Retry-After and
// closed at once; each refusal is counted by reason (Stats.Refused).
//
// The per-address cap counts TCP peers. Trusted proxies are exempt (they
// carry many clients); behind a proxy, limit connections per client there
// (nginx limit_conn), where the client's address is known.

// refusalReason says why a connection was refused.
type refusalReason uint8

const (
	refusedMaxConns refusalReason = iota // MaxConnections reached
	refusedPerIP                         // MaxConnsPerIP reached for the client's address
	refusalCount
)

var refusalNames = [refusalCount]string{"max connections", "max per ip"}

// refusal is what OnOpen answers a refused connection.
type refusal struct {
	reason refusalReason
	answer []byte
}

func newRefusal(r refusalReason, body string) *refusal {
	out := codec.AppendResponse(nil, 503, textType, []byte("Retry-After: 5\r\n"), []byte(body+"\n"), false)
	return &refusal{reason: r, answer: out}
}

var (
	refuseMaxConns = newRefusal(refusedMaxConns, "connection limit reached; retry later")
	refusePerIP    = newRefusal(refusedPerIP, "too many connections from your address; retry later")
)

// ipCount is the number of connections of one client address.
type ipCount struct {
	addr netip.Addr
	n    int32
}

const admissionShards = 64

// admission holds the node's connection counts.
type admission struct {
	conns  atomic.Int64
	seed   maphash.Seed
	shards [admissionShards]struct {
		mu sync.Mutex
		m  map[netip.Addr]*ipCount
	}
}

func (a *admission) init() {
	a.seed = maphash.MakeSeed()
	for i := range a.shards {
		a.shards[i].m = make(map[netip.Addr]*ipCount)
	}
}

// admit counts a new connection, or refuses it. Any loop.
func (srv *Server) admit(gc gnet.Conn) (*ipCount, *refusal) {
	a := &srv.adm
	if a.conns.Add(1) > int64(srv.conf().MaxConnections) {
		a.conns.Add(-1)
		return nil, refuseMaxConns
	}
	if srv.conf().MaxConnsPerIP < 0 {
		return nil, nil
	}
	ip := peerAddr(gc.RemoteAddr())
	if !ip.IsValid() || srv.trusted(ip) {
		return nil, nil
	}
	sh := &a.shards[maphash.Comparable(a.seed, ip)%admissionShards]
	sh.mu.Lock()
	c := sh.m[ip]
	if c == nil {
		c = &ipCount{addr: ip}
		sh.m[ip] = c
	}
	if c.n >= int32(srv.conf().MaxConnsPerIP) {
		sh.mu.Unlock()
		a.conns.Add(-1)
		return nil, refusePerIP
	}
	c.n++
	sh.mu.Unlock()
	return c, nil
}

// release uncounts a connection admitted with count c (nil: not counted
// per address). Any loop.
func (srv *Server) release(c *ipCount) {
	a := &srv.adm
	a.conns.Add(-1)
	if c == nil {
		return
	}
	sh := &a.shards[maphash.Comparable(a.seed, c.addr)%admissionShards]
	sh.mu.Lock()
	if c.n--; c.n <= 0 {
		delete(sh.m, c.addr)
	}
	sh.mu.Unlock()
}

// peerAddr returns a connection's remote address as a plain IP.
func peerAddr(a net.Addr) netip.Addr {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(tcp.IP)
	return ip.Unmap()
}

// trusted reports whether ip is one of the configured trusted proxies.
func (srv *Server) trusted(ip netip.Addr) bool {
	for _, p := range srv.conf().TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientAddr returns the client's address: the TCP peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one (proxies append, so the right end is the most trustworthy).
func (s *session) clientAddr(req *codec.Request) netip.Addr {
	peer := peerAddr(s.gc.RemoteAddr())
	if !s.loop.srv.trusted(peer) || req == nil {
		return peer
	}
	xff := req.Header("X-Forwarded-For")
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		part := bytes.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		ip, err := netip.ParseAddr(string(part))
		if err != nil {
			return peer // a malformed hop: trust nothing beyond it
		}
		if ip = ip.Unmap(); !s.loop.srv.trusted(ip) {
			return ip
		}
		if i < 0 {
			break
		}
	}
	return peer
}

// defaultMaxConnections is the process's open file limit less a reserve
// for what is not a client connection: listeners, the poller, logs, and
// the engine's and stores' own descriptors.
func defaultMaxConnections(reserve int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 10_000
	}
	cur := int(min(lim.Cur, 1<<30))
	if reserve == 0 {
		reserve = 64 + cur/20
	}
	return max(cur-reserve, 16)
}
