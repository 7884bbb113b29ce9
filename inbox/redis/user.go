package redis

import (
	"context"

	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// The users index ({prefix}inbox:users, a sorted set) lists every user
// with a log, for Users and the sweep. On a single server the scripts
// that begin or delete a log write it in the same step. In a cluster it
// is in another slot than any user, so it is written in separate calls,
// ordered so that a user with a log is never left out of it by a race:
//
//   - beginning a log: the script begins it with its meta's l field "0";
//     then the index gets the user (ZADD); then l becomes "1" (list.lua).
//     Every append or ack to a log whose l is still "0" (a node died
//     between the steps) lists it again.
//   - deleting: the script deletes the keys; the index loses the user
//     (ZREM); then, if a log exists again (an append raced in), the index
//     gets the user back.
//
// Each side writes, then reads what the other writes, so whichever of a
// deletion and a first append comes last sees the other's effect. What a
// race can leave is a listed user with no log, which Users skips and
// removes the same way.

// listUsers puts users whose logs a script began, or found unlisted, in
// the users index (a cluster only). It fails nothing: the users' appends
// are stored, and their next write lists them again; a failure is logged.
func (s *Store) listUsers(ctx context.Context, users []string) {
	if len(users) == 0 {
		return
	}
	zadd := s.client.B().Zadd().Key(s.index).ScoreMember()
	for _, u := range users {
		zadd = zadd.ScoreMember(0, u)
	}
	err := s.client.Do(ctx, zadd.Build()).Error()
	if err == nil {
		execs := make([]rueidis.LuaExec, len(users))
		for i, u := range users {
			execs[i] = rueidis.LuaExec{Keys: s.userKeys(nil, u)[keyMeta : keyMeta+1]}
		}
		for _, r := range listScript.execMulti(ctx, s.client, execs) {
			if err = r.Error(); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.cfg.Logger.Warn("inbox/redis: users left out of the users index until their next write", "users", len(users), "err", err)
	}
}

// unlist takes users out of the users index, then puts back those that
// have a log by then (a cluster only; see above).
func (s *Store) unlist(ctx context.Context, users []string) error {
	if err := s.client.Do(ctx, s.client.B().Zrem().Key(s.index).Member(users...).Build()).Error(); err != nil {
		return err
	}
	cmds := make(rueidis.Commands, len(users))
	for i, u := range users {
		cmds[i] = s.client.B().Exists().Key(s.userKeys(nil, u)[keyMeta]).Build()
	}
	var back []string
	for i, r := range s.client.DoMulti(ctx, cmds...) {
		n, err := r.AsInt64()
		if err != nil {
			return err
		}
		if n == 1 {
			back = append(back, users[i])
		}
	}
	s.listUsers(ctx, back)
	return nil
}

// DeleteUser implements inbox.Store: one script removes the user's keys
// (and, on a single server, its place in the users index). Safe to send
// twice, so one whose connection died under it is sent again.
func (s *Store) DeleteUser(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := s.enter("delete user"); err != nil {
		return err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	keys := append(s.userKeys(make([]string, 0, keysPerUser+1), user), s.index)
	if s.cfg.Cluster {
		keys = keys[:keysPerUser]
	}
	args := []string{user, s.indexArg}
	err := deleteScript.exec(ctx, s.client, keys, args).Error()
	if retryable(ctx, err) {
		err = deleteScript.exec(ctx, s.client, keys, args).Error()
	}
	if err == nil && s.cfg.Cluster {
		err = s.unlist(ctx, []string{user})
	}
	if err != nil {
		return s.fail("delete user", caller, err)
	}
	return nil
}

// Users implements inbox.Store: a page of the users index, then each
// user's state (in a cluster, from each user's master, in parallel). The
// states are each user's own snapshot, not one of all of them.
func (s *Store) Users(ctx context.Context, after string, limit int) (inbox.UserPage, error) {
	if after != "" {
		if err := checkUser(after); err != nil {
			return inbox.UserPage{}, err
		}
	}
	if err := s.enter("users"); err != nil {
		return inbox.UserPage{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return inbox.UserPage{}, err
	}
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	limit = s.pageLimit(limit)
	names, more, err := s.userPage(ctx, after, limit)
	if err != nil {
		return inbox.UserPage{}, s.fail("users", caller, err)
	}
	var p inbox.UserPage
	if len(names) == 0 {
		return p, nil
	}
	if more {
		p.Next = names[len(names)-1]
	}
	cmds := make(rueidis.Commands, len(names))
	for i, u := range names {
		cmds[i] = s.stateCommand(u)
	}
	p.Users = make([]inbox.UserState, 0, len(names))
	var stale []string
	for i, r := range s.client.DoMulti(ctx, cmds...) {
		arr, err := r.ToArray()
		if err != nil {
			return inbox.UserPage{}, s.fail("users", caller, err)
		}
		st, err := stateOf(arr, names[i])
		if err != nil {
			return inbox.UserPage{}, err
		}
		if st.Epoch == 0 {
			stale = append(stale, names[i])
			continue
		}
		p.Users = append(p.Users, inbox.UserState{User: names[i], State: st})
	}
	if len(stale) > 0 && s.cfg.Cluster {
		if err := s.unlist(ctx, stale); err != nil {
			s.cfg.Logger.Warn("inbox/redis: removing deleted users from the users index", "users", len(stale), "err", err)
		}
	}
	return p, nil
}

// userPage returns up to limit names of the users index after `after`,
// and whether more follow.
func (s *Store) userPage(ctx context.Context, after string, limit int) ([]string, bool, error) {
	names, err := s.client.Do(ctx, s.client.B().Zrange().Key(s.index).Min(lexAfter(after)).Max("+").
		Bylex().Limit(0, int64(limit)+1).Build()).AsStrSlice()
	if err != nil {
		return nil, false, err
	}
	if len(names) > limit {
		return names[:limit], true, nil
	}
	return names, false, nil
}
