-- Returns {conn, info, conn, info, ...} of the live entries.
cleanup()
return redis.call('HGETALL', KEYS[1])
