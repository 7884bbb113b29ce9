package testredis

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStartDoStop(t *testing.T) {
	s := Start(t, Options{})
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Do("GET", "k"); err != nil || v != "v" {
		t.Fatalf("GET = %v, %v; want v", v, err)
	}
	var re Error
	if _, err := s.Do("NOSUCHCOMMAND"); !errors.As(err, &re) {
		t.Fatalf("unknown command: err = %v, want an Error reply", err)
	}
	if cpu, err := s.CPUTime(); err != nil || cpu < 0 {
		t.Fatalf("CPUTime = %v, %v", cpu, err)
	}
	s.Stop()
	if s.Pid() != 0 {
		t.Fatal("Pid after Stop is not 0")
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING after Stop succeeded")
	}
}

// Without persistence a restart forgets; with AOF always, even SIGKILL
// keeps every acknowledged write.
func TestRestartKeepsAOF(t *testing.T) {
	plain := Start(t, Options{})
	plain.Do("SET", "k", "v")
	plain.Restart()
	if v, err := plain.Do("GET", "k"); err != nil || v != nil {
		t.Fatalf("no AOF: GET after restart = %v, %v; want nil", v, err)
	}

	s := Start(t, Options{AppendFsync: "always"})
	addr := s.Addr()
	for _, k := range []string{"a", "b", "c"} {
		if _, err := s.Do("SET", k, k); err != nil {
			t.Fatal(err)
		}
	}
	s.Kill()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("address changed across restart: %s -> %s", addr, s.Addr())
	}
	for _, k := range []string{"a", "b", "c"} {
		if v, err := s.Do("GET", k); err != nil || v != k {
			t.Fatalf("AOF always: GET %s after kill = %v, %v", k, v, err)
		}
	}
}

func TestPasswordAndReplica(t *testing.T) {
	m := Start(t, Options{Password: "sekrit"})
	r := Start(t, Options{Password: "sekrit", ReplicaOf: m.Addr()})
	if _, err := do(m.Addr(), "", nil, ReadyTimeout, "GET", "k"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("no password: err = %v, want NOAUTH", err)
	}
	if _, err := m.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do("WAIT", "1", "5000"); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Do("GET", "k"); err != nil || v != "v" {
		t.Fatalf("replica GET = %v, %v; want v", v, err)
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	owners := map[string]bool{}
	for _, s := range c.Nodes() {
		v, err := s.Do("CLUSTER", "MYID")
		if err != nil {
			t.Fatal(err)
		}
		owners[v.(string)] = true
	}
	if len(owners) != 3 {
		t.Fatalf("%d distinct node ids, want 3", len(owners))
	}
	// Every key lands on exactly one node: the others answer MOVED.
	served := 0
	for _, s := range c.Nodes() {
		_, err := s.Do("SET", "somekey", "v")
		if err == nil {
			served++
		} else if !strings.Contains(err.Error(), "MOVED") {
			t.Fatal(err)
		}
	}
	if served != 1 {
		t.Fatalf("key served by %d nodes, want 1", served)
	}
}

func TestTLS(t *testing.T) {
	s := Start(t, Options{TLS: true})
	if v, err := s.Do("PING"); err != nil || v != "PONG" {
		t.Fatalf("PING over TLS = %v, %v", v, err)
	}
	if _, err := do(s.Addr(), "", nil, time.Second, "PING"); err == nil {
		t.Fatal("plain PING to a TLS-only server answered")
	}
	s.Restart()
	if v, err := s.Do("PING"); err != nil || v != "PONG" {
		t.Fatalf("PING over TLS after restart = %v, %v", v, err)
	}
}
