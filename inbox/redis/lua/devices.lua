-- Read one device's record, or all of them, with the log's top and
-- oldest, in one snapshot. Writes nothing (flags=no-writes).
-- KEYS[1] meta, KEYS[2] devices. ARGV[1] device, '' for all.
-- Returns {} for a user with no log, else {top, oldest, id, record, ...}.
local v = redis.call('HMGET', KEYS[1], 't', 'o')
if not v[1] then return {} end
if ARGV[1] ~= '' then
  local d = redis.call('HGET', KEYS[2], ARGV[1])
  if d then
    v[3], v[4] = ARGV[1], d
  end
  return v
end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all do v[i + 2] = all[i] end
return v
