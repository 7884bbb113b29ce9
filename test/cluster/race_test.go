//go:build race

package cluster

// raceEnabled builds the nodes under test with the race detector too, so a
// data race a cluster provokes (a reconnect, a kill) fails the test.
const raceEnabled = true
