// Command none opens and closes a file: the baseline for size/bbolt and
// size/pebble.
package main

import "os"

func main() {
	f, err := os.OpenFile(os.Args[1], os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		os.Exit(1)
	}
	f.Close()
}
