// Package enginecompare measures the two embedded engines considered for
// package inbox, go.etcd.io/bbolt and github.com/cockroachdb/pebble/v2, on
// the inbox's workload: an append is one log entry (about 100 bytes of
// payload) plus its user's meta record, written atomically; a replay reads
// one user's entries in order.
//
// It is a separate module so that the engine not chosen never enters the
// main module's go.mod. docs/INBOX.md gives the commands and the figures.
//
// Must not import: any package of the main module.
package enginecompare
