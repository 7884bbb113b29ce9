-- Mark a user listed, once the Go side has added it to the users index
-- (a cluster: the index is in another slot than the user).
-- KEYS[1] the user's meta. Returns 1 if the user has a log, else 0.
local s = redis.call('HGET', KEYS[1], 's')
if not s then return 0 end
if #s ~= 64 then return redis.error_reply('CORRUPT inbox: state') end
-- The listed flag is the state's last 8 bytes.
redis.call('HSET', KEYS[1], 's', string.sub(s, 1, 56) .. struct.pack('>i8', 1))
return 1
