//go:build race

package ops

// raceEnabled builds the binary under test with the race detector too.
const raceEnabled = true
