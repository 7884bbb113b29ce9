-- Move a device's delivery position, recording the device (and an empty
-- log, for a user with none) if it is new.
-- KEYS: the user's 7 keys, then, with ARGV[7] '1', the users index.
-- ARGV[1] now in µs or '', ARGV[2] the epoch of a log this call begins,
-- ARGV[3] user, ARGV[4] device, ARGV[5] seq, ARGV[6] devices kept per user
-- Returns {acked, last seen, created, top, oldest, listed}.
-- A device record is acked, last seen, created: 8 bytes each.
local DEVICE = '>i8i8i8'
local now = clock(ARGV[1])
local K = keysOf(0)
local s = redis.call('HGET', K.m, 's')
local m
if s then
  m = unpackState(s)
else
  local index = nil
  if ARGV[7] == '1' then index = KEYS[#KEYS] end
  m = newState(K.m, ARGV[3], ARGV[2], now, index)
  redis.call('HSET', K.m, 's', packState(m))
end
local dev = ARGV[4]
local acked, created = 0, now
local v = redis.call('HGET', K.d, dev)
if v then
  if #v ~= 24 then corrupt('device') end
  local a, _, c = struct.unpack(DEVICE, v)
  acked, created = a, c
elseif redis.call('HLEN', K.d) >= tonumber(ARGV[6]) then
  -- One more device forgets the least recently seen (the smallest id of
  -- those seen at the same time). At most MaxDevices records to read.
  local all = redis.call('HGETALL', K.d)
  local victim, seen = nil, nil
  for i = 1, #all, 2 do
    if #all[i + 1] ~= 24 then corrupt('device') end
    local _, t = struct.unpack(DEVICE, all[i + 1])
    if not victim or t < seen or (t == seen and all[i] < victim) then
      victim, seen = all[i], t
    end
  end
  redis.call('HDEL', K.d, victim)
end
-- Cumulative and monotonic, clamped to the top.
local seq = math.min(tonumber(ARGV[5]), m.t)
if seq > acked then acked = seq end
redis.call('HSET', K.d, dev, struct.pack(DEVICE, acked, now, created))
return {acked, now, created, m.t, m.o, m.l}
