-- Shared head of the presence scripts (prepended to each).
-- KEYS[1] hash conn -> info, KEYS[2] zset conn -> expiry ms,
-- KEYS[3] hash user -> number of the user's entries.
-- ARGV[1] now in ms, or '' to take Redis TIME.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- user_of reads the user from an entry: it starts "len:user".
local function user_of(v)
  local n, i = string.match(v, '^(%d+):()')
  return string.sub(v, i, i + tonumber(n) - 1)
end

local function forget_user(u)
  if redis.call('HINCRBY', KEYS[3], u, -1) <= 0 then
    redis.call('HDEL', KEYS[3], u)
  end
end

-- Drop every expired entry (an entry lives while its expiry >= now). Each
-- entry is dropped once, so the work is paid for by the adds.
local function cleanup()
  while true do
    local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'LIMIT', 0, 512)
    for _, conn in ipairs(expired) do
      local v = redis.call('HGET', KEYS[1], conn)
      if v then
        forget_user(user_of(v))
        redis.call('HDEL', KEYS[1], conn)
      end
      redis.call('ZREM', KEYS[2], conn)
    end
    if #expired < 512 then break end
  end
end

-- expire_keys makes the keys live as long as their longest entry.
local function expire_keys()
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    return
  end
  local ms = math.max(1, tonumber(last[2]) - now + 1)
  for i = 1, 3 do
    redis.call('PEXPIRE', KEYS[i], ms)
  end
end
