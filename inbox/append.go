package inbox

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Append implements Store.
func (d *DB) Append(ctx context.Context, to []string, m Message) ([]Appended, error) {
	if err := d.o.checkMessage(to, &m); err != nil {
		return nil, err
	}
	res := make([]Appended, len(to))
	err := d.write(ctx, int64(entrySize(&m))*int64(len(to)), func(tx *bolt.Tx) error {
		// The time is taken in the transaction, so that entry times are in
		// seq order within each log.
		now := d.o.Now().UnixNano()
		value := encodeEntry(now, &m)
		for i, user := range to {
			a, err := d.appendOne(tx, user, &m, value, now)
			if err != nil {
				return err
			}
			res[i] = a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// appendOne appends value to one recipient's log. value is shared by every
// recipient of the transaction: bbolt keeps values, not copies, until the
// commit.
func (d *DB) appendOne(tx *bolt.Tx, user string, m *Message, value []byte, now int64) (Appended, error) {
	u, err := loadOrCreateUser(tx, user, now)
	if err != nil {
		return Appended{}, err
	}
	var idemKey []byte
	if m.Key != "" {
		idemKey = appendIdemKey(nil, m.From, m.Key)
		if seq, at, ok, err := d.lookupIdem(u, idemKey, now); err != nil || ok {
			return Appended{User: user, Seq: seq, Epoch: u.meta.epoch, Duplicate: true, Time: time.Unix(0, at)}, err
		}
	}
	seq := u.meta.top + 1
	log, err := u.bucket(logBucket)
	if err != nil {
		return Appended{}, err
	}
	// A log is only appended to at its end: fill pages completely on
	// split instead of leaving them half empty.
	log.FillPercent = 1
	if err := log.Put(appendSeqKey(nil, seq), value); err != nil {
		return Appended{}, err
	}
	u.meta.top = seq
	u.meta.bytes += uint64(len(value))
	u.meta.updated = now
	if err := d.indexEntry(u, m, seq, now); err != nil {
		return Appended{}, err
	}
	if idemKey != nil {
		if err := d.rememberIdem(tx, u, idemKey, m, seq, now); err != nil {
			return Appended{}, err
		}
	}
	if _, err := d.trim(u, now, maxTrimPerWrite); err != nil {
		return Appended{}, err
	}
	return Appended{User: user, Seq: seq, Epoch: u.meta.epoch, Time: time.Unix(0, now)}, u.save()
}

// indexEntry counts a new entry in its conversation's record and index.
func (d *DB) indexEntry(u *userTx, m *Message, seq uint64, now int64) error {
	convs, err := u.bucket(convBucket)
	if err != nil {
		return err
	}
	index, err := u.bucket(convIndexBucket)
	if err != nil {
		return err
	}
	var c convRecord
	if v := convs.Get([]byte(m.Conversation)); v != nil {
		if c, err = decodeConv(v); err != nil {
			return err
		}
	}
	own := m.From == u.name
	c.kept++
	c.lastSeq = seq
	c.lastTime = now
	flag := indexOwn
	if !own {
		// A new entry is after every marker: markers never pass the top.
		c.unread++
		u.meta.unread++
		flag = indexOther
	}
	if err := convs.Put([]byte(m.Conversation), c.encode()); err != nil {
		return err
	}
	return index.Put(appendConvIndexKey(nil, m.Conversation, seq), flag)
}

// lookupIdem returns the seq of the user's earlier append with this
// idempotency key, if one is within the window.
func (d *DB) lookupIdem(u *userTx, idemKey []byte, now int64) (seq uint64, at int64, ok bool, err error) {
	b := u.b.Bucket(idemBucket)
	if b == nil {
		return 0, 0, false, nil
	}
	v := b.Get(idemKey)
	if v == nil {
		return 0, 0, false, nil
	}
	r, err := decodeIdem(v)
	if err != nil {
		return 0, 0, false, err
	}
	if now-r.at >= int64(d.o.IdempotencyWindow) {
		return 0, 0, false, nil
	}
	return r.seq, r.at, true, nil
}

// rememberIdem records the key's first append and indexes it by time for
// the sweep. An expired record being replaced leaves its index entry for
// the sweep, which skips entries whose record has changed.
func (d *DB) rememberIdem(tx *bolt.Tx, u *userTx, idemKey []byte, m *Message, seq uint64, now int64) error {
	b, err := u.bucket(idemBucket)
	if err != nil {
		return err
	}
	r := idemRecord{at: now, seq: seq}
	if err := b.Put(idemKey, r.encode()); err != nil {
		return err
	}
	return tx.Bucket(expiryBucket).Put(appendExpiryKey(nil, now, u.name, m.From, m.Key), []byte{})
}
