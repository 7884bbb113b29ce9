-- ARGV[2] conn. Removes the entry only if it has expired; returns 1 then.
-- The expiry is read before cleanup() drops it with every other expired
-- entry: what matters is whether this one was due.
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
cleanup()
expire_keys()
if score and tonumber(score) < now then return 1 end
return 0
