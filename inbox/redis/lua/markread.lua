-- Move the user's read marker of a conversation forward, clamped to the
-- top, taking what it passes out of the unread counts.
-- KEYS: the user's 8 keys. ARGV[1] conversation, ARGV[2] seq.
-- Returns {} when the log keeps no entry of the conversation, else
-- {previous marker, the conversation's record}.
local K = keysOf(0)
local top = redis.call('HGET', K.m, 't')
if not top then return {} end
local conv = ARGV[1]
local c = loadConv(K.c, conv)
if not c then return {} end
local prev = c.read
local seq = math.min(tonumber(ARGV[2]), tonumber(top))
if seq > c.read then
  -- The index holds exactly the conversation's unread entries: removing
  -- those up to seq counts what was just read, in proportion to it.
  local read = redis.call('ZREMRANGEBYLEX', K.x, '[' .. member(conv, c.read + 1), '[' .. member(conv, seq))
  c.unread = c.unread - read
  c.read = seq
  redis.call('HSET', K.c, conv, convString(c))
  if read > 0 then redis.call('HINCRBY', K.m, 'n', -read) end
end
return {prev, convString(c)}
