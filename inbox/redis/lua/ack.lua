-- Move a device's delivery position, recording the device (and an empty
-- log, for a user with none) if it is new.
-- KEYS: the user's 8 keys, then, with ARGV[7] '1', the users index.
-- ARGV[1] now in µs or '', ARGV[2] the epoch of a log this call begins,
-- ARGV[3] user, ARGV[4] device, ARGV[5] seq, ARGV[6] devices kept per user
-- Returns {acked, last seen, created, top, oldest, listed}.
local now = clock(ARGV[1])
local K = keysOf(0)
local m = loadMeta(K.m)
if not m then
  local index = nil
  if ARGV[7] == '1' then index = KEYS[#KEYS] end
  m = newMeta(ARGV[3], ARGV[2], now, index)
  saveMeta(K.m, m)
end
local dev = ARGV[4]
local acked, created = 0, now
local v = redis.call('HGET', K.d, dev)
if v then
  local a, _, c = string.match(v, '^(%d+) (%d+) (%d+)$')
  if not c then corrupt('device ' .. dev) end
  acked, created = tonumber(a), tonumber(c)
elseif redis.call('HLEN', K.d) >= tonumber(ARGV[6]) then
  -- One more device forgets the least recently seen (the smallest id of
  -- those seen at the same time). At most MaxDevices records to read.
  local all = redis.call('HGETALL', K.d)
  local victim, seen = nil, nil
  for i = 1, #all, 2 do
    local s = tonumber(string.match(all[i + 1], '^%d+ (%d+) '))
    if not s then corrupt('device ' .. all[i]) end
    if not victim or s < seen or (s == seen and all[i] < victim) then
      victim, seen = all[i], s
    end
  end
  redis.call('HDEL', K.d, victim)
end
-- Cumulative and monotonic, clamped to the top.
local seq = math.min(tonumber(ARGV[5]), m.t)
if seq > acked then acked = seq end
redis.call('HSET', K.d, dev, str(acked) .. ' ' .. str(now) .. ' ' .. str(created))
return {acked, now, created, m.t, m.o, flag(m.l == '1')}
