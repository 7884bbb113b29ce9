// Command pebble opens and closes a pebble store: its binary's size, minus
// size/none's, is what the engine adds to a program.
package main

import (
	"os"

	"github.com/cockroachdb/pebble/v2"
)

func main() {
	db, err := pebble.Open(os.Args[1], &pebble.Options{})
	if err != nil {
		os.Exit(1)
	}
	db.Close()
}
