-- Append one message to the logs of the recipients ARGV[13..]: all of
-- them in this one atomic call on a single server, one per call in a
-- cluster (their logs are in different slots).
-- KEYS: 7 per recipient in the recipients' order, then, with ARGV[11]
--       '1', the users index.
-- ARGV[1] now in µs, or '' for Redis TIME
-- ARGV[2] the epoch of a log this call begins
-- ARGV[3] conversation, ARGV[4] sender ('' for the backend)
-- ARGV[5] the entry after its time: conv ' ' from ' ' fromDevice ' ' key ' ' payload
-- ARGV[6] idempotency field (from ' ' key), '' for none
-- ARGV[7] idempotency window in µs
-- ARGV[8] ARGV[9] ARGV[10] retention: entries, age in µs, bytes (-1: none)
-- ARGV[11] '1' when the users index is the last key
-- ARGV[12] lifetime of the idempotency keys in ms
-- Returns {seq, duplicate, listed, epoch (a decimal string)} per recipient.
local now0 = clock(ARGV[1])
local epoch, conv, from, body, idem = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local window = tonumber(ARGV[7])
local R = limits(ARGV[8], ARGV[9], ARGV[10])
local index = nil
if ARGV[11] == '1' then index = KEYS[#KEYS] end
local n = #ARGV - 12
local field = ' ' .. conv

-- Every read and check first: Redis does not roll a script back, so one
-- that failed part way would keep what it wrote. After this loop only a
-- corrupt record can fail the call.
local states, convs, nows, dups, epochs = {}, {}, {}, {}, {}
for i = 1, n do
  local K = keysOf(i - 1)
  local v = redis.call('HMGET', K.m, 's', field, 'e')
  local now = now0
  epochs[i] = v[3] or epoch
  if v[1] then
    local m = unpackState(v[1])
    if m.u > now then
      -- Times never go back within a log: age retention trims from the
      -- head, in time order.
      now = m.u
    end
    states[i] = m
    if v[2] then convs[i] = unpackConv(v[2]) end
    if idem ~= '' then
      local r = redis.call('HGET', K.k, idem)
      if r then
        if #r ~= 16 then corrupt('idempotency record') end
        local seq, at = struct.unpack(IDEM, r)
        if now - at < window then dups[i] = {seq, at} end
      end
    end
  end
  nows[i] = now
end

local out = {}
local entry, entryAt = nil, nil
for i = 1, n do
  local user = ARGV[12 + i]
  local K = keysOf(i - 1)
  local m, c, now = states[i], convs[i], nows[i]
  if dups[i] then
    out[#out + 1] = dups[i][1]
    out[#out + 1] = 1
    out[#out + 1] = m.l
    out[#out + 1] = dups[i][2] -- the first append's time: its entry's
    out[#out + 1] = epochs[i]
  else
    if not m then m = newState(K.m, user, epoch, now, index) end
    local seq = m.t + 1
    if entryAt ~= now then
      -- One entry string for every recipient at the same time.
      entry, entryAt = struct.pack('>i8', now) .. body, now
    end
    redis.call('RPUSH', K.l, entry)
    if m.t < m.o then m.h = now end -- the log was empty: this is its head
    m.t = seq
    m.b = m.b + entryBytes(entry)
    m.u = now
    if not c then
      c = {read = 0, kept = 0, unread = 0, last = 0, time = 0}
      redis.call('ZADD', K.z, 0, conv)
    end
    c.kept = c.kept + 1
    c.last = seq
    c.time = now
    if from ~= user then
      -- A new entry is after every marker: markers never pass the top.
      c.unread = c.unread + 1
      m.n = m.n + 1
      redis.call('ZADD', K.x, 0, member(conv, seq))
    end
    if idem ~= '' then
      redis.call('HSET', K.k, idem, struct.pack(IDEM, seq, now))
      redis.call('ZADD', K.q, now, idem)
      expireIdem(K, now, window, 16)
      -- Keys nobody appends to with a key for a window go by themselves.
      redis.call('PEXPIRE', K.k, ARGV[12])
      redis.call('PEXPIRE', K.q, ARGV[12])
    end
    -- This conversation stays in memory while the log is trimmed: the
    -- new entry is never removed (it is not older than the limit, count
    -- limits are at least 1, bytes never remove the last entry), so the
    -- record is written back with the state in one call.
    trim(K, user, m, now, R, 64, {conv = conv, c = c})
    redis.call('HSET', K.m, 's', packState(m), field, packConv(c))
    out[#out + 1] = seq
    out[#out + 1] = 0
    out[#out + 1] = m.l
    out[#out + 1] = now
    out[#out + 1] = epochs[i]
  end
end
return out
