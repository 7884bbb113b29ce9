-- Read one device's record, or all of them, with the log's state, in one
-- snapshot. Writes nothing (flags=no-writes).
-- KEYS[1] meta, KEYS[2] devices. ARGV[1] device, '' for all.
-- Returns {} for a user with no log, else {state, id, record, ...}.
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {} end
local v = {s}
if ARGV[1] ~= '' then
  local d = redis.call('HGET', KEYS[2], ARGV[1])
  if d then
    v[2], v[3] = ARGV[1], d
  end
  return v
end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all do v[i + 1] = all[i] end
return v
