package inbox

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// pageLimit returns the number of items a read returns for limit.
func (d *DB) pageLimit(limit int) int {
	if limit <= 0 || limit > d.o.PageSize {
		return d.o.PageSize
	}
	return limit
}

// Read implements Store.
func (d *DB) Read(ctx context.Context, user string, after uint64, limit int) (Page, error) {
	if err := checkUser(user); err != nil {
		return Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	limit = d.pageLimit(limit)
	var p Page
	err := d.view(func(tx *bolt.Tx) error {
		p = Page{Next: after, State: emptyState()}
		b, meta, ok, err := readUser(tx, user)
		if !ok {
			return err
		}
		p.State = meta.state()
		start := after + 1
		if removed := meta.oldest - 1; after < removed {
			p.Gap = removed - after
			p.Next = removed
			start = meta.oldest
		}
		log := b.Bucket(logBucket)
		if log == nil || start > meta.top {
			return nil
		}
		// Collect the values first (they alias the memory map, valid until
		// the transaction ends), then copy the page out in two
		// allocations; decoding twice is cheaper than keeping views.
		raw := make([][]byte, 0, min(uint64(limit), meta.top-start+1))
		var arena pageArena
		c := log.Cursor()
		for k, v := c.Seek(appendSeqKey(nil, start)); k != nil && len(raw) < limit && arena.payloadBytes < d.o.PageBytes; k, v = c.Next() {
			if seq, ok := parseSeqKey(k); !ok || seq != start+uint64(len(raw)) {
				return ErrCorrupt
			}
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			raw = append(raw, v)
			arena.reserve(&e)
		}
		arena.alloc()
		p.Entries = make([]Entry, len(raw))
		for i, v := range raw {
			e, _ := decodeEntry(v)
			p.Entries[i] = arena.entry(&e, start+uint64(i))
		}
		if len(raw) > 0 {
			p.Next = start + uint64(len(raw)) - 1
		}
		p.More = p.Next < meta.top
		return nil
	})
	return p, err
}

// State implements Store.
func (d *DB) State(ctx context.Context, user string) (State, error) {
	if err := checkUser(user); err != nil {
		return State{}, err
	}
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	s := emptyState()
	err := d.view(func(tx *bolt.Tx) error {
		_, meta, ok, err := readUser(tx, user)
		if ok {
			s = meta.state()
		}
		return err
	})
	return s, err
}

// Users implements Store.
func (d *DB) Users(ctx context.Context, after string, limit int) (UserPage, error) {
	if after != "" {
		if err := checkUser(after); err != nil {
			return UserPage{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return UserPage{}, err
	}
	limit = d.pageLimit(limit)
	var p UserPage
	err := d.view(func(tx *bolt.Tx) error {
		p = UserPage{}
		users := tx.Bucket(usersBucket)
		c := users.Cursor()
		k, _ := c.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, _ = c.Next()
		}
		for ; k != nil; k, _ = c.Next() {
			if len(p.Users) == limit {
				p.Next = p.Users[len(p.Users)-1].User
				return nil
			}
			meta, err := decodeMeta(users.Bucket(k).Get(metaKey))
			if err != nil {
				return err
			}
			p.Users = append(p.Users, UserState{User: string(k), State: meta.state()})
		}
		return nil
	})
	return p, err
}

// DeleteUser implements Store. The user's idempotency records leave
// entries in the expiry index, which the sweep removes when they age out.
func (d *DB) DeleteUser(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	return d.write(ctx, 0, func(tx *bolt.Tx) error {
		err := tx.Bucket(usersBucket).DeleteBucket([]byte(user))
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}
