#!lua flags=no-writes
-- Read a channel's stream state. It writes nothing, so reading never
-- creates a key. The publications themselves are read by a plain XRANGE
-- in the same MULTI/EXEC (see history.go): handing a hundred entries
-- through Lua would cost Redis four times what XRANGE alone does.
-- KEYS[1] meta hash, KEYS[2] history stream
-- ARGV[1] now in ms, or '' to take Redis TIME
-- Returns {epoch, top, oldest, created}; epoch '' when the channel has no
-- stream.
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
-- trims expired entries from the head every ttl/8, so this looks past at
-- most an eighth of a ttl's publications.
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

return {m[1], top, oldest, tonumber(m[3] or '0')}
