package inbox

import bolt "go.etcd.io/bbolt"

// boltTx lets tests look at the file's layout.
type boltTx = bolt.Tx
