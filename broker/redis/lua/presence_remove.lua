-- ARGV[2] conn. Returns 1 when a live entry was removed.
cleanup()
local old = redis.call('HGET', KEYS[1], ARGV[2])
if old then
  forget_user(user_of(old))
  redis.call('HDEL', KEYS[1], ARGV[2])
end
redis.call('ZREM', KEYS[2], ARGV[2])
expire_keys()
if old then return 1 end
return 0
