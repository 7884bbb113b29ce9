package inbox

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

func checkDevice(device string) error { return checkID("device", device, MaxIDBytes) }

// Ack implements Store. A seq beyond the top is clamped, not refused: a
// client may hold a seq from a log that a machine crash under the os
// policy rolled back, and clamping keeps it receiving what comes next.
func (d *DB) Ack(ctx context.Context, user, device string, seq uint64) (Device, error) {
	if err := checkUser(user); err != nil {
		return Device{}, err
	}
	if err := checkDevice(device); err != nil {
		return Device{}, err
	}
	var out Device
	err := d.write(ctx, 0, func(tx *bolt.Tx) error {
		now := d.o.Now().UnixNano()
		u, err := loadOrCreateUser(tx, user, now)
		if err != nil {
			return err
		}
		devices, err := u.bucket(deviceBucket)
		if err != nil {
			return err
		}
		var r deviceRecord
		if v := devices.Get([]byte(device)); v != nil {
			if r, err = decodeDevice(v); err != nil {
				return err
			}
		} else {
			if err := d.evictDevice(devices); err != nil {
				return err
			}
			r.created = now
		}
		r.acked = max(r.acked, min(seq, u.meta.top))
		r.lastSeen = now
		if err := devices.Put([]byte(device), r.encode()); err != nil {
			return err
		}
		out = r.device(device, &u.meta)
		return u.save()
	})
	if err != nil {
		// out may still be written by a commit the caller stopped
		// waiting for.
		return Device{}, err
	}
	return out, nil
}

// evictDevice makes room for one more device: when the user has
// MaxDevices, it forgets the least recently seen.
func (d *DB) evictDevice(devices *bolt.Bucket) error {
	var oldest []byte
	var oldestSeen int64
	n := 0
	c := devices.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		r, err := decodeDevice(v)
		if err != nil {
			return err
		}
		if n == 0 || r.lastSeen < oldestSeen {
			oldest, oldestSeen = k, r.lastSeen
		}
		n++
	}
	if n < d.o.MaxDevices {
		return nil
	}
	return devices.Delete(oldest)
}

// Device implements Store.
func (d *DB) Device(ctx context.Context, user, device string) (Device, error) {
	if err := checkUser(user); err != nil {
		return Device{}, err
	}
	if err := checkDevice(device); err != nil {
		return Device{}, err
	}
	if err := ctx.Err(); err != nil {
		return Device{}, err
	}
	var out Device
	err := d.view(func(tx *bolt.Tx) error {
		b, meta, ok, err := readUser(tx, user)
		if !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		devices := b.Bucket(deviceBucket)
		if devices == nil {
			return ErrNotFound
		}
		v := devices.Get([]byte(device))
		if v == nil {
			return ErrNotFound
		}
		r, err := decodeDevice(v)
		out = r.device(device, &meta)
		return err
	})
	return out, err
}

// Devices implements Store.
func (d *DB) Devices(ctx context.Context, user string) ([]Device, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Device
	err := d.view(func(tx *bolt.Tx) error {
		out = nil
		b, meta, ok, err := readUser(tx, user)
		if !ok {
			return err
		}
		devices := b.Bucket(deviceBucket)
		if devices == nil {
			return nil
		}
		c := devices.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			r, err := decodeDevice(v)
			if err != nil {
				return err
			}
			out = append(out, r.device(string(k), &meta))
		}
		return nil
	})
	return out, err
}

// ForgetDevice implements Store.
func (d *DB) ForgetDevice(ctx context.Context, user, device string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := checkDevice(device); err != nil {
		return err
	}
	return d.write(ctx, 0, func(tx *bolt.Tx) error {
		u, err := loadUser(tx, user)
		if u == nil {
			return err
		}
		if devices := u.b.Bucket(deviceBucket); devices != nil {
			return devices.Delete([]byte(device))
		}
		return nil
	})
}
