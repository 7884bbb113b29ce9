-- Remove everything of one user: log, devices, markers, idempotency
-- records (UNLINK: Redis frees a long log in the background).
-- KEYS: the user's 7 keys, then, with ARGV[2] '1', the users index.
-- ARGV[1] user. Returns 1 if the user had a log.
local K = keysOf(0)
local existed = redis.call('EXISTS', K.m)
redis.call('UNLINK', K.m, K.l, K.d, K.z, K.x, K.k, K.q)
if ARGV[2] == '1' then redis.call('ZREM', KEYS[#KEYS], ARGV[1]) end
return existed
