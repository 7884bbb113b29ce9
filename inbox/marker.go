package inbox

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"
)

func checkConversation(c string) error { return checkID("conversation", c, MaxIDBytes) }

// MarkRead implements Store. Moving the marker counts the conversation's
// entries it passes over in the conversation index, so its cost is in
// proportion to what was just read, not to the log; every other unread
// figure is a counter.
func (d *DB) MarkRead(ctx context.Context, user, conversation string, seq uint64) (Marked, error) {
	if err := checkUser(user); err != nil {
		return Marked{}, err
	}
	if err := checkConversation(conversation); err != nil {
		return Marked{}, err
	}
	var out Marked
	var outErr error
	err := d.write(ctx, 0, func(tx *bolt.Tx) error {
		out, outErr = Marked{}, nil
		u, err := loadUser(tx, user)
		if err != nil {
			return err
		}
		var convs, index *bolt.Bucket
		if u != nil {
			convs, index = u.b.Bucket(convBucket), u.b.Bucket(convIndexBucket)
		}
		var v []byte
		if convs != nil {
			v = convs.Get([]byte(conversation))
		}
		if v == nil || index == nil {
			outErr = ErrNotFound
			return nil
		}
		c, err := decodeConv(v)
		if err != nil {
			return err
		}
		out.Previous = c.read
		if seq = min(seq, u.meta.top); seq > c.read {
			read, err := countUnread(index, conversation, c.read, seq)
			if err != nil {
				return err
			}
			c.unread -= read
			u.meta.unread -= read
			c.read = seq
			if err := convs.Put([]byte(conversation), c.encode()); err != nil {
				return err
			}
			if err := u.save(); err != nil {
				return err
			}
		}
		out.Conversation = c.conversation(conversation)
		return nil
	})
	if err != nil {
		return Marked{}, err
	}
	return out, outErr
}

// countUnread counts the conversation's entries in (from, to] that are not
// the user's own.
func countUnread(index *bolt.Bucket, conversation string, from, to uint64) (uint64, error) {
	prefix := appendConvIndexPrefix(nil, conversation)
	var n uint64
	c := index.Cursor()
	for k, v := c.Seek(appendConvIndexKey(nil, conversation, from+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, seq, ok := parseConvIndexKey(k)
		if !ok || len(v) != 1 {
			return 0, ErrCorrupt
		}
		if seq > to {
			break
		}
		if v[0] == indexOther[0] {
			n++
		}
	}
	return n, nil
}

// Conversation implements Store.
func (d *DB) Conversation(ctx context.Context, user, conversation string) (Conversation, error) {
	if err := checkUser(user); err != nil {
		return Conversation{}, err
	}
	if err := checkConversation(conversation); err != nil {
		return Conversation{}, err
	}
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	var out Conversation
	err := d.view(func(tx *bolt.Tx) error {
		b, _, ok, err := readUser(tx, user)
		if !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		convs := b.Bucket(convBucket)
		if convs == nil {
			return ErrNotFound
		}
		v := convs.Get([]byte(conversation))
		if v == nil {
			return ErrNotFound
		}
		c, err := decodeConv(v)
		out = c.conversation(conversation)
		return err
	})
	return out, err
}

// Conversations implements Store.
func (d *DB) Conversations(ctx context.Context, user, after string, limit int) (ConversationPage, error) {
	if err := checkUser(user); err != nil {
		return ConversationPage{}, err
	}
	if after != "" {
		if err := checkConversation(after); err != nil {
			return ConversationPage{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return ConversationPage{}, err
	}
	limit = d.pageLimit(limit)
	var p ConversationPage
	err := d.view(func(tx *bolt.Tx) error {
		p = ConversationPage{}
		b, _, ok, err := readUser(tx, user)
		if !ok {
			return err
		}
		convs := b.Bucket(convBucket)
		if convs == nil {
			return nil
		}
		c := convs.Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if len(p.Conversations) == limit {
				p.Next = p.Conversations[len(p.Conversations)-1].ID
				return nil
			}
			r, err := decodeConv(v)
			if err != nil {
				return err
			}
			p.Conversations = append(p.Conversations, r.conversation(string(k)))
		}
		return nil
	})
	return p, err
}
