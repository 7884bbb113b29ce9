#!lua flags=no-writes
-- Read a channel's state and its publications after a seq, in one step.
-- It writes nothing, so reading never creates a key.
-- KEYS[1] meta hash, KEYS[2] history stream
-- ARGV[1] now in ms, or '' to take Redis TIME
-- ARGV[2] after: return publications with a greater seq
-- ARGV[3] limit: at most this many publications (0: state only)
-- ARGV[4] expected epoch, or '' for any: when the stream's epoch differs,
--         its publications are returned from the start (recovery after
--         the stream expired and began again)
-- Returns {epoch, top, oldest, created, seq, ms, blob, seq, ms, blob, ...};
-- epoch '' when the channel has no stream. Flat, with numbers as numbers:
-- the client decodes it with no nested arrays and no number strings.
local m = redis.call('HMGET', KEYS[1], 'e', 's', 'c', 'l')
if not m[1] then
  return {'', 0, 0, 0}
end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local cutoff = now - tonumber(m[4] or '0')
local top = tonumber(m[2] or '0')

-- The oldest entry history still keeps: the first one within ttl. Publish
-- trims expired entries from the head, so this rarely looks past one.
local oldest = 0
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #head > 0 then
  if tonumber(head[1][2][2]) >= cutoff then
    oldest = tonumber(string.match(head[1][1], '^(%d+)'))
  else
    local last = head[1][1]
    for _ = 1, 256 do
      local batch = redis.call('XRANGE', KEYS[2], '(' .. last, '+', 'COUNT', 64)
      if #batch == 0 then break end
      for _, e in ipairs(batch) do
        if tonumber(e[2][2]) >= cutoff then
          oldest = tonumber(string.match(e[1], '^(%d+)'))
          break
        end
        last = e[1]
      end
      if oldest > 0 then break end
    end
    if oldest == 0 and #redis.call('XRANGE', KEYS[2], '(' .. last, '+', 'COUNT', 1) > 0 then
      -- Too many expired entries to look past in one call (a burst into a
      -- large history, then silence): keep the rest rather than claim none.
      oldest = tonumber(string.match(last, '^(%d+)')) + 1
    end
  end
end

local after = tonumber(ARGV[2])
if ARGV[4] ~= '' and ARGV[4] ~= m[1] then
  after = 0
end
local limit = tonumber(ARGV[3])
local out = {m[1], top, oldest, tonumber(m[3] or '0')}
if limit > 0 and oldest > 0 then
  local from = math.max(after + 1, oldest)
  if from <= top then
    local entries = redis.call('XRANGE', KEYS[2], from .. '-0', '+', 'COUNT', limit)
    local n = 4
    for _, e in ipairs(entries) do
      -- ids are always "seq-0"
      out[n + 1] = tonumber(string.sub(e[1], 1, -3))
      out[n + 2] = tonumber(e[2][2])
      out[n + 3] = e[2][4]
      n = n + 3
    end
  end
end
return out
