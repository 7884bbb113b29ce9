-- Mark a user listed, once the Go side has added it to the users index
-- (a cluster: the index is in another slot than the user).
-- KEYS[1] the user's meta. Returns 1 if the user has a log, else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'l', '1')
return 1
