-- ARGV[2] conn, ARGV[3] encoded info (user first), ARGV[4] ttl in ms.
-- Returns 1 when the entry is new (absent, or expired and cleaned up).
cleanup()
local old = redis.call('HGET', KEYS[1], ARGV[2])
local u = user_of(ARGV[3])
if old then
  local ou = user_of(old)
  if ou ~= u then
    forget_user(ou)
    redis.call('HINCRBY', KEYS[3], u, 1)
  end
else
  redis.call('HINCRBY', KEYS[3], u, 1)
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
expire_keys()
if old then return 0 end
return 1
