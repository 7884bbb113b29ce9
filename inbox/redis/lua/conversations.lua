-- Read a page of a user's conversations, by id, in one snapshot. Writes
-- nothing (flags=no-writes).
-- KEYS[1] meta, KEYS[2] conversation ids.
-- ARGV[1] the ZRANGE BYLEX minimum ('-' or '(' after), ARGV[2] most ids.
-- Returns {id, record, ...}.
local ids = redis.call('ZRANGE', KEYS[2], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return {} end
local fields = {}
for i = 1, #ids do fields[i] = ' ' .. ids[i] end
local recs = redis.call('HMGET', KEYS[1], unpack(fields))
local out = {}
for i = 1, #ids do
  if not recs[i] then error({err = 'CORRUPT inbox: no record of conversation ' .. ids[i]}) end
  out[2 * i - 1], out[2 * i] = ids[i], recs[i]
end
return out
