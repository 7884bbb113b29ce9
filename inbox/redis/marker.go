package redis

import (
	"context"
	"strconv"

	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// MarkRead implements inbox.Store: one script moves the marker and takes
// what it passes out of the unread counters, in proportion to what was
// read. Moving a marker twice to one seq is moving it once, so a call
// whose connection died under it is sent again.
func (s *Store) MarkRead(ctx context.Context, user, conversation string, seq uint64) (inbox.Marked, error) {
	if err := checkUserConv(user, conversation); err != nil {
		return inbox.Marked{}, err
	}
	if err := s.enter("mark read"); err != nil {
		return inbox.Marked{}, err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	keys := s.userKeys(nil, user)
	args := []string{conversation, strconv.FormatUint(seq, 10)}
	arr, err := markReadScript.exec(ctx, s.client, keys, args).ToArray()
	if retryable(ctx, err) {
		arr, err = markReadScript.exec(ctx, s.client, keys, args).ToArray()
	}
	if err != nil {
		return inbox.Marked{}, s.fail("mark read", caller, err)
	}
	if len(arr) == 0 {
		return inbox.Marked{}, inbox.ErrNotFound
	}
	if len(arr) != 2 {
		return inbox.Marked{}, corrupt("mark read", "reply of "+strconv.Itoa(len(arr)))
	}
	prev, err1 := arr[0].AsInt64()
	rec, err2 := arr[1].ToString()
	c, ok := parseConv(conversation, rec)
	if err1 != nil || err2 != nil || !ok {
		return inbox.Marked{}, corrupt("mark read", "conversation "+conversation)
	}
	return inbox.Marked{Conversation: c, Previous: uint64(prev)}, nil
}

// Conversation implements inbox.Store: one HGET of the record.
func (s *Store) Conversation(ctx context.Context, user, conversation string) (inbox.Conversation, error) {
	if err := checkUserConv(user, conversation); err != nil {
		return inbox.Conversation{}, err
	}
	if err := s.enter("conversation"); err != nil {
		return inbox.Conversation{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return inbox.Conversation{}, err
	}
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	r := s.client.Do(ctx, s.client.B().Hget().Key(s.userKeys(nil, user)[keyMeta]).Field(" "+conversation).Build())
	rec, err := r.ToString()
	if err != nil {
		if rueidis.IsRedisNil(err) {
			return inbox.Conversation{}, inbox.ErrNotFound
		}
		return inbox.Conversation{}, s.fail("conversation", caller, err)
	}
	c, ok := parseConv(conversation, rec)
	if !ok {
		return inbox.Conversation{}, corrupt("conversation", conversation)
	}
	return c, nil
}

// Conversations implements inbox.Store: one read-only script pages the
// conversation ids and reads their records.
func (s *Store) Conversations(ctx context.Context, user, after string, limit int) (inbox.ConversationPage, error) {
	if err := checkUser(user); err != nil {
		return inbox.ConversationPage{}, err
	}
	if after != "" {
		if err := checkConversation(after); err != nil {
			return inbox.ConversationPage{}, err
		}
	}
	if err := s.enter("conversations"); err != nil {
		return inbox.ConversationPage{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return inbox.ConversationPage{}, err
	}
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	limit = s.pageLimit(limit)
	keys := s.userKeys(nil, user)
	arr, err := conversationsScript.exec(ctx, s.client, []string{keys[keyMeta], keys[keyConvIDs]},
		[]string{lexAfter(after), strconv.Itoa(limit + 1)}).AsStrSlice()
	if err != nil {
		return inbox.ConversationPage{}, s.fail("conversations", caller, err)
	}
	if len(arr)%2 != 0 {
		return inbox.ConversationPage{}, corrupt("conversations", "reply of "+strconv.Itoa(len(arr)))
	}
	var p inbox.ConversationPage
	for i := 0; i < len(arr); i += 2 {
		if len(p.Conversations) == limit {
			p.Next = p.Conversations[limit-1].ID
			break
		}
		c, ok := parseConv(arr[i], arr[i+1])
		if !ok {
			return inbox.ConversationPage{}, corrupt("conversations", "conversation "+arr[i])
		}
		p.Conversations = append(p.Conversations, c)
	}
	return p, nil
}

// lexAfter is the ZRANGE BYLEX minimum of the ids after `after`.
func lexAfter(after string) string {
	if after == "" {
		return "-"
	}
	return "(" + after
}
