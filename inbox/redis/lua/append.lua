-- Append one message to the logs of the recipients ARGV[13..]: all of
-- them in this one atomic call on a single server, one per call in a
-- cluster (their logs are in different slots).
-- KEYS: 8 per recipient in the recipients' order, then, with ARGV[11]
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
-- Returns {seq, duplicate, listed} per recipient.
local now0 = clock(ARGV[1])
local epoch, conv, from, body, idem = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local window = tonumber(ARGV[7])
local R = limits(ARGV[8], ARGV[9], ARGV[10])
local index = nil
if ARGV[11] == '1' then index = KEYS[#KEYS] end
local n = #ARGV - 12

-- Every read and check first: Redis does not roll a script back, so one
-- that failed part way would keep what it wrote. After this loop only a
-- corrupt record can fail the call.
local metas, nows, dups = {}, {}, {}
for i = 1, n do
  local K = keysOf(i - 1)
  local m = loadMeta(K.m)
  local now = now0
  if m and m.u > now then
    -- Times never go back within a log: age retention trims from the
    -- head, in time order.
    now = m.u
  end
  metas[i], nows[i] = m, now
  if m and idem ~= '' then
    local r = redis.call('HGET', K.k, idem)
    if r then
      local s, at = string.match(r, '^(%d+) (%d+)$')
      if not at then corrupt('idempotency record') end
      if now - tonumber(at) < window then dups[i] = tonumber(s) end
    end
  end
end

local out = {}
for i = 1, n do
  local user = ARGV[12 + i]
  local K = keysOf(i - 1)
  local m, now = metas[i], nows[i]
  if dups[i] then
    out[#out + 1] = dups[i]
    out[#out + 1] = 1
    out[#out + 1] = flag(m.l == '1')
  else
    if not m then m = newMeta(user, epoch, now, index) end
    local seq = m.t + 1
    local e = pad(now) .. ' ' .. body
    redis.call('RPUSH', K.l, e)
    m.t = seq
    m.b = m.b + entryBytes(e)
    m.u = now
    local c = loadConv(K.c, conv)
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
    redis.call('HSET', K.c, conv, convString(c))
    if idem ~= '' then
      redis.call('HSET', K.k, idem, str(seq) .. ' ' .. str(now))
      redis.call('ZADD', K.q, now, idem)
      expireIdem(K, now, window, 16)
      -- Keys nobody appends to with a key for a window go by themselves.
      redis.call('PEXPIRE', K.k, ARGV[12])
      redis.call('PEXPIRE', K.q, ARGV[12])
    end
    trim(K, user, m, now, R, 64)
    saveMeta(K.m, m)
    out[#out + 1] = seq
    out[#out + 1] = 0
    out[#out + 1] = flag(m.l == '1')
  end
end
return out
