-- One user's share of a sweep step: retention for a log nobody appends
-- to, and its expired idempotency records.
-- KEYS: the user's 7 keys. ARGV[1] now in µs or '', ARGV[2] ARGV[3]
-- ARGV[4] retention as in append.lua, ARGV[5] most entries to remove,
-- ARGV[6] user, ARGV[7] idempotency window in µs, ARGV[8] most records
-- to expire.
-- Returns {removed, expired}, or {-1, 0} when the user has no log.
local now = clock(ARGV[1])
local K = keysOf(0)
local s = redis.call('HGET', K.m, 's')
if not s then return {-1, 0} end
local m = unpackState(s)
local removed = trim(K, ARGV[6], m, now, limits(ARGV[2], ARGV[3], ARGV[4]), tonumber(ARGV[5]), nil)
if removed > 0 or m.h ~= struct.unpack('>i8', s, 49) then
  -- Also when only the head's time was learnt: the next check is free.
  redis.call('HSET', K.m, 's', packState(m))
end
return {removed, expireIdem(K, now, tonumber(ARGV[7]), tonumber(ARGV[8]))}
