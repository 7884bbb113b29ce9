// Command bbolt opens and closes a bbolt file: its binary's size, minus
// size/none's, is what the engine adds to a program.
package main

import (
	"os"

	bolt "go.etcd.io/bbolt"
)

func main() {
	db, err := bolt.Open(os.Args[1], 0o600, nil)
	if err != nil {
		os.Exit(1)
	}
	db.Close()
}
