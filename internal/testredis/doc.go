// Package testredis runs real redis-server processes for tests: a single
// server (optionally with an append-only file, or as a replica) or a Redis
// Cluster of several masters, each on a free loopback port with its data in
// t.TempDir(), stopped by t.Cleanup.
//
// It exists so that every package that talks to Redis (broker/redis, the
// end-to-end tests) tests against the real thing the same way: no mocks, no
// shared server, no fixed ports. Readiness is waited for by PING (and by
// CLUSTER INFO for a cluster), never by sleeping; a port taken between
// choosing it and binding it is retried on another port.
//
// A missing /usr/bin/redis-server (or redis-server on PATH) fails the test
// loudly: install it with scripts/test-deps.sh.
//
// Must not import: any other package of this module. Test helpers only:
// nothing outside _test.go files and test binaries may import it.
//
// Concurrency: a Server's methods may be called from any goroutine, but
// Stop, Restart and Kill must not race one another (a test drives its own
// servers).
package testredis
