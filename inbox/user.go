package inbox

import (
	"crypto/rand"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// userTx is one user's bucket and meta record inside a write
// transaction. save writes the meta record back.
type userTx struct {
	name string
	b    *bolt.Bucket
	meta metaRecord
}

// loadUser returns the user's bucket and meta; nil if the user has no log.
func loadUser(tx *bolt.Tx, user string) (*userTx, error) {
	b := tx.Bucket(usersBucket).Bucket([]byte(user))
	if b == nil {
		return nil, nil
	}
	meta, err := decodeMeta(b.Get(metaKey))
	if err != nil {
		return nil, err
	}
	return &userTx{name: user, b: b, meta: meta}, nil
}

// loadOrCreateUser returns the user's bucket, creating the user with a new
// epoch if it has none.
func loadOrCreateUser(tx *bolt.Tx, user string, now int64) (*userTx, error) {
	u, err := loadUser(tx, user)
	if u != nil || err != nil {
		return u, err
	}
	b, err := tx.Bucket(usersBucket).CreateBucket([]byte(user))
	if err != nil {
		return nil, err
	}
	return &userTx{name: user, b: b, meta: metaRecord{
		epoch: newEpoch(), oldest: 1, created: now, updated: now,
	}}, nil
}

func (u *userTx) save() error { return u.b.Put(metaKey, u.meta.encode()) }

// bucket returns a sub-bucket of the user, created if missing.
func (u *userTx) bucket(name []byte) (*bolt.Bucket, error) {
	return u.b.CreateBucketIfNotExists(name)
}

// readUser returns the user's meta in a read transaction; ok is false for
// a user with no log.
func readUser(tx *bolt.Tx, user string) (b *bolt.Bucket, meta metaRecord, ok bool, err error) {
	b = tx.Bucket(usersBucket).Bucket([]byte(user))
	if b == nil {
		return nil, metaRecord{}, false, nil
	}
	meta, err = decodeMeta(b.Get(metaKey))
	return b, meta, err == nil, err
}

// newEpoch returns a random non-zero epoch: a deleted and recreated user's
// log must not be mistaken for the old one.
func newEpoch() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if e := binary.BigEndian.Uint64(b[:]); e != 0 {
			return e
		}
	}
}
