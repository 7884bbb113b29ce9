-- Read a page of a user's conversations, by id, in one snapshot. Writes
-- nothing (flags=no-writes).
-- KEYS[1] conversation ids, KEYS[2] conversation records.
-- ARGV[1] the ZRANGE BYLEX minimum ('-' or '(' after), ARGV[2] most ids.
-- Returns {id, record, ...}.
local ids = redis.call('ZRANGE', KEYS[1], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return {} end
local recs = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i = 1, #ids do
  if not recs[i] then error({err = 'CORRUPT inbox: no record of conversation ' .. ids[i]}) end
  out[2 * i - 1], out[2 * i] = ids[i], recs[i]
end
return out
