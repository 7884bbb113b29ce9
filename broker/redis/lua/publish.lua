#!lua
-- Publish one publication of a channel, atomically.
-- KEYS[1] meta hash, KEYS[2] history stream, KEYS[3] idempotency result
--         (the meta key again when there is none: every key declared must
--         be in the channel's slot)
-- ARGV[1] now in ms, or '' to take Redis TIME
-- ARGV[2] the epoch to create when the channel has none
-- ARGV[3] the encoded publication
-- ARGV[4] history size (0: keep none)
-- ARGV[5] history ttl in ms
-- ARGV[6] meta ttl in ms
-- ARGV[7] idempotency window in ms, '0' for none
-- ARGV[8] pub/sub topic
-- ARGV[9] 'publish' or 'spublish'
-- ARGV[10] '1' for an ephemeral publication
-- Returns {seq, epoch, ms, duplicate (0/1)}.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

if ARGV[10] == '1' then
  local epoch = redis.call('HGET', KEYS[1], 'e') or ''
  redis.call(ARGV[9], ARGV[8], '0:' .. epoch .. ':' .. now .. ':' .. ARGV[3])
  return {0, epoch, now, 0}
end

if ARGV[7] ~= '0' then
  local r = redis.call('GET', KEYS[3])
  if r then
    local s, t, e = string.match(r, '^(%d+):(%d+):(.*)$')
    return {tonumber(s), e, tonumber(t), 1}
  end
end

local m = redis.call('HMGET', KEYS[1], 'e', 't', 'l', 'x', 's', 'n')
local epoch = m[1]
local size = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local metattl = math.max(tonumber(ARGV[6]), ttl)
local upkeep = false
if not epoch then
  epoch = ARGV[2]
  -- A stream left from an expired epoch would hold higher ids.
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'c', now)
  upkeep = true
else
  if m[2] and tonumber(m[2]) > now then
    -- Times never go back within a channel (history expiry relies on it).
    now = tonumber(m[2])
  end
  -- Upkeep (expiring the head, extending the keys' lives) runs at most
  -- every ttl/8, not on every publish: it is most of a publish's cost.
  -- A changed ttl needs it at once.
  upkeep = tonumber(m[3]) ~= ttl or not m[4] or now - tonumber(m[4]) >= ttl / 8
end
-- The script is atomic: read, add one, write back with the rest.
local seq = tonumber(m[5] or '0') + 1
-- n: the channel's last publish kept no history (so it has no stream).
local nohist = m[6] == '1'

if size > 0 then
  if nohist then
    upkeep = true -- the stream is created now: it needs its ttl
  end
  if upkeep then
    -- Drop the head entries older than ttl, in bounded steps: entries are
    -- in time order, and each is dropped once.
    local cutoff = now - ttl
    local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
    if #head > 0 and tonumber(head[1][2][2]) < cutoff then
      local last = head[1][1]
      local keep = nil
      for _ = 1, 64 do
        local batch = redis.call('XRANGE', KEYS[2], '(' .. last, '+', 'COUNT', 64)
        if #batch == 0 then break end
        for _, e in ipairs(batch) do
          if tonumber(e[2][2]) >= cutoff then keep = e[1] break end
          last = e[1]
        end
        if keep then break end
      end
      if keep then
        redis.call('XTRIM', KEYS[2], 'MINID', keep)
      else
        redis.call('XTRIM', KEYS[2], 'MINID', (tonumber(string.match(last, '^(%d+)')) + 1) .. '-0')
      end
    end
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', size, seq .. '-0', 't', now, 'd', ARGV[3])
  if upkeep then
    -- Until the next upkeep, at most ttl/8 from now, publishes do not
    -- extend the lives: the margin covers them.
    redis.call('PEXPIRE', KEYS[2], ttl + math.ceil(ttl / 8))
  end
elseif not nohist then
  redis.call('DEL', KEYS[2]) -- history was just turned off
end

local fields = {'s', seq, 't', now}
if upkeep then
  table.insert(fields, 'l') table.insert(fields, ttl)
  table.insert(fields, 'x') table.insert(fields, now)
  redis.call('PEXPIRE', KEYS[1], metattl + math.ceil(ttl / 8))
end
if size > 0 and nohist then
  table.insert(fields, 'n') table.insert(fields, '0')
elseif size <= 0 and not nohist then
  table.insert(fields, 'n') table.insert(fields, '1')
end
redis.call('HSET', KEYS[1], unpack(fields))

redis.call(ARGV[9], ARGV[8], seq .. ':' .. epoch .. ':' .. now .. ':' .. ARGV[3])

if ARGV[7] ~= '0' then
  redis.call('SET', KEYS[3], seq .. ':' .. now .. ':' .. epoch, 'PX', ARGV[7])
end
return {seq, epoch, now, 0}
