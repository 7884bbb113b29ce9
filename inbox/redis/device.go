package redis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/comet-im/comet/inbox"
	"github.com/redis/rueidis"
)

// Ack implements inbox.Store: one script records the device (evicting the
// least recently seen beyond Config.MaxDevices) and moves its position.
// An ack is safe to send twice, so one whose connection died under it is.
func (s *Store) Ack(ctx context.Context, user, device string, seq uint64) (inbox.Device, error) {
	if err := checkUserDevice(user, device); err != nil {
		return inbox.Device{}, err
	}
	if err := s.enter("ack"); err != nil {
		return inbox.Device{}, err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	keys := append(s.userKeys(make([]string, 0, keysPerUser+1), user), s.index)
	if s.cfg.Cluster {
		keys = keys[:keysPerUser]
	}
	args := []string{s.nowArg(), newEpoch(), user, device, strconv.FormatUint(seq, 10), s.argMaxDevices, s.indexArg}
	v, err := ackScript.exec(ctx, s.client, keys, args).AsIntSlice()
	if retryable(ctx, err) {
		v, err = ackScript.exec(ctx, s.client, keys, args).AsIntSlice()
	}
	if err != nil {
		return inbox.Device{}, s.fail("ack", caller, err)
	}
	if len(v) != 6 {
		return inbox.Device{}, corrupt("ack", "reply of "+strconv.Itoa(len(v)))
	}
	if v[5] == 0 {
		s.listUsers(ctx, []string{user})
	}
	return position(device, uint64(v[0]), v[1], v[2], uint64(v[3]), uint64(v[4])), nil
}

// position is a device's record with what the log's top and oldest say
// about it.
func position(id string, acked uint64, seen, created int64, top, oldest uint64) inbox.Device {
	d := inbox.Device{ID: id, Acked: acked, LastSeen: time.UnixMicro(seen), Created: time.UnixMicro(created)}
	from := acked
	if removed := oldest - 1; removed > from {
		d.Gap = removed - from
		from = removed
	}
	if top > from {
		d.Pending = top - from
	}
	return d
}

// Device implements inbox.Store.
func (s *Store) Device(ctx context.Context, user, device string) (inbox.Device, error) {
	if err := checkUserDevice(user, device); err != nil {
		return inbox.Device{}, err
	}
	devs, err := s.devices(ctx, "device", user, device)
	if err != nil {
		return inbox.Device{}, err
	}
	if len(devs) == 0 {
		return inbox.Device{}, inbox.ErrNotFound
	}
	return devs[0], nil
}

// Devices implements inbox.Store.
func (s *Store) Devices(ctx context.Context, user string) ([]inbox.Device, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	devs, err := s.devices(ctx, "devices", user, "")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(devs, func(a, b inbox.Device) int { return strings.Compare(a.ID, b.ID) })
	return devs, nil
}

// devices reads one device ("" for all) with the log's top and oldest, in
// one snapshot.
func (s *Store) devices(ctx context.Context, op, user, device string) ([]inbox.Device, error) {
	if err := s.enter(op); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	keys := s.userKeys(nil, user)
	arr, err := devicesScript.exec(ctx, s.client, []string{keys[keyMeta], keys[keyDevices]}, []string{device}).AsStrSlice()
	if err != nil {
		return nil, s.fail(op, caller, err)
	}
	if len(arr) == 0 {
		return nil, nil
	}
	if len(arr)%2 != 1 || len(arr[0]) != stateSize {
		return nil, corrupt(op, "reply of "+strconv.Itoa(len(arr)))
	}
	top, oldest := field(arr[0], 0), field(arr[0], 1)
	out := make([]inbox.Device, 0, len(arr)/2)
	for i := 1; i < len(arr); i += 2 {
		acked, seen, created, ok := parseDevice(arr[i+1])
		if !ok {
			return nil, corrupt(op, "device "+arr[i])
		}
		out = append(out, position(arr[i], acked, seen, created, top, oldest))
	}
	return out, nil
}

// ForgetDevice implements inbox.Store: one HDEL, safe to send twice.
func (s *Store) ForgetDevice(ctx context.Context, user, device string) error {
	if err := checkUserDevice(user, device); err != nil {
		return err
	}
	if err := s.enter("forget device"); err != nil {
		return err
	}
	defer s.leave()
	caller := ctx
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	cmd := func() rueidis.Completed {
		return s.client.B().Hdel().Key(s.userKeys(nil, user)[keyDevices]).Field(device).Build()
	}
	err := s.client.Do(ctx, cmd()).Error()
	if retryable(ctx, err) {
		err = s.client.Do(ctx, cmd()).Error()
	}
	if err != nil {
		return s.fail("forget device", caller, err)
	}
	return nil
}
