-- Move the user's read marker of a conversation forward, clamped to the
-- top, taking what it passes out of the unread counts.
-- KEYS: the user's 7 keys. ARGV[1] conversation, ARGV[2] seq.
-- Returns {} when the log keeps no entry of the conversation, else
-- {previous marker, the conversation's record}.
local K = keysOf(0)
local conv = ARGV[1]
local field = ' ' .. conv
local v = redis.call('HMGET', K.m, 's', field)
if not v[1] or not v[2] then return {} end
local m, c = unpackState(v[1]), unpackConv(v[2])
local prev = c.read
local seq = math.min(tonumber(ARGV[2]), m.t)
if seq > c.read then
  -- The index holds exactly the conversation's unread entries: removing
  -- those up to seq counts what was just read, in proportion to it.
  local read = redis.call('ZREMRANGEBYLEX', K.x, '[' .. member(conv, c.read + 1), '[' .. member(conv, seq))
  c.unread = c.unread - read
  c.read = seq
  m.n = m.n - read
  redis.call('HSET', K.m, 's', packState(m), field, packConv(c))
end
return {prev, packConv(c)}
