//go:build race

package e2e

// raceEnabled builds the server under test with the race detector too, so a
// data race the clients provoke fails the test.
const raceEnabled = true
