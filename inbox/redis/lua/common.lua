-- Shared by the inbox's write scripts: the Go side puts it after the
-- shebang and before each script's own part. docs/REDIS.md ("The inbox on
-- Redis") draws the records.
--
-- Every key of one user carries the user id as its hash tag, so one call
-- may touch all of them; a script gets them as 8 consecutive KEYS per
-- user: meta, log, devices, conversations, conversation ids, unread
-- index, idempotency records, idempotency times.
--
-- Times are microseconds (exact in a Lua number until the year 2255);
-- seqs and counters are integers. Numbers are written with %d: Lua's
-- tostring would write 1.8e+15.

local function str(n) return string.format('%d', n) end

-- pad writes a number fixed-width, so that byte order is number order.
local function pad(n) return string.format('%016d', n) end

-- clock is the time: the caller's test clock if it sent one, else Redis
-- TIME, one clock for every node.
local function clock(arg)
  local now = tonumber(arg)
  if now then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- corrupt fails the call with an error the Go side maps to ErrCorrupt.
local function corrupt(what)
  error({err = 'CORRUPT inbox: ' .. what})
end

local function keysOf(i)
  local b = i * 8
  return {m = KEYS[b + 1], l = KEYS[b + 2], d = KEYS[b + 3], c = KEYS[b + 4],
          z = KEYS[b + 5], x = KEYS[b + 6], k = KEYS[b + 7], q = KEYS[b + 8]}
end

-- The meta hash: e epoch, t top, o oldest, b bytes, n unread, c created,
-- u updated, l '1' once the user is in the users index.
local function loadMeta(key)
  local v = redis.call('HMGET', key, 'e', 't', 'o', 'b', 'n', 'c', 'u', 'l')
  if not v[1] then return nil end
  local m = {e = v[1], t = tonumber(v[2]), o = tonumber(v[3]), b = tonumber(v[4]),
             n = tonumber(v[5]), c = tonumber(v[6]), u = tonumber(v[7]), l = v[8] or '0'}
  if not (m.t and m.o and m.b and m.n and m.c and m.u) then corrupt('meta ' .. key) end
  return m
end

local function saveMeta(key, m)
  redis.call('HSET', key, 'e', m.e, 't', str(m.t), 'o', str(m.o), 'b', str(m.b),
    'n', str(m.n), 'c', str(m.c), 'u', str(m.u), 'l', m.l)
end

-- newMeta begins a log. Given the users index (a single server), it lists
-- the user in the same step; in a cluster the index is in another slot,
-- and the Go side lists the user after the call (l stays '0' until then).
local function newMeta(user, epoch, now, index)
  local m = {e = epoch, t = 0, o = 1, b = 0, n = 0, c = now, u = now, l = '0'}
  if index then
    redis.call('ZADD', index, 0, user)
    m.l = '1'
  end
  return m
end

-- A conversation record: "read kept unread lastSeq lastTime".
local function loadConv(key, conv)
  local v = redis.call('HGET', key, conv)
  if not v then return nil end
  local r, k, u, s, t = string.match(v, '^(%d+) (%d+) (%d+) (%d+) (%d+)$')
  if not t then corrupt('conversation ' .. conv) end
  return {read = tonumber(r), kept = tonumber(k), unread = tonumber(u), last = tonumber(s), time = tonumber(t)}
end

local function convString(c)
  return str(c.read) .. ' ' .. str(c.kept) .. ' ' .. str(c.unread) .. ' ' .. str(c.last) .. ' ' .. str(c.time)
end

-- member is an entry's name in the unread index: the index holds the
-- unread entries only (not the user's own, not those at or below the
-- marker), so that a marker's move removes exactly what it read.
local function member(conv, seq) return conv .. ' ' .. pad(seq) end

-- An entry is pad(time) ' ' conv ' ' from ' ' fromDevice ' ' key ' '
-- payload. Retention counts 13 bytes of header where this one has 21.
local function entryBytes(e) return #e - 8 end

-- dropHead removes the log's oldest entry and takes it out of its
-- conversation's counters. A conversation with no entry left is
-- forgotten, marker too: a marker below every entry says nothing.
local function dropHead(K, user, m)
  local e = redis.call('LPOP', K.l)
  if not e then corrupt('log shorter than its meta') end
  local conv, from = string.match(e, '^%d+ ([^ ]+) ([^ ]*) ')
  if not conv then corrupt('entry ' .. str(m.o)) end
  local c = loadConv(K.c, conv)
  if not c then corrupt('no record of conversation ' .. conv) end
  c.kept = c.kept - 1
  if from ~= user and redis.call('ZREM', K.x, member(conv, m.o)) == 1 then
    c.unread = c.unread - 1
    m.n = m.n - 1
  end
  if c.kept == 0 then
    redis.call('HDEL', K.c, conv)
    redis.call('ZREM', K.z, conv)
  else
    redis.call('HSET', K.c, conv, convString(c))
  end
  m.b = m.b - entryBytes(e)
  m.o = m.o + 1
end

-- limits reads the retention arguments; negative is no limit.
local function limits(entries, age, bytes)
  return {entries = tonumber(entries), age = tonumber(age), bytes = tonumber(bytes)}
end

-- trim removes the oldest entries while the log breaks a limit, at most
-- max of them, and returns how many. Only the head goes, so the kept
-- seqs stay gapless and oldest-1 is exactly the number removed; bytes
-- never remove the last entry.
local function trim(K, user, m, now, R, max)
  local removed = 0
  while removed < max and m.t >= m.o do
    local kept = m.t - m.o + 1
    local over = (R.entries >= 0 and kept > R.entries) or (R.bytes >= 0 and m.b > R.bytes and kept > 1)
    if not over and R.age >= 0 then
      local head = redis.call('LINDEX', K.l, 0)
      if not head then corrupt('log shorter than its meta') end
      over = tonumber(string.sub(head, 1, 16)) < now - R.age
    end
    if not over then break end
    dropHead(K, user, m)
    removed = removed + 1
  end
  return removed
end

-- expireIdem removes up to max idempotency records at least a window
-- old, oldest first.
local function expireIdem(K, now, window, max)
  local old = redis.call('ZRANGEBYSCORE', K.q, '-inf', str(now - window), 'LIMIT', 0, max)
  if #old > 0 then
    redis.call('HDEL', K.k, unpack(old))
    redis.call('ZREM', K.q, unpack(old))
  end
  return #old
end

local function flag(b) if b then return 1 end return 0 end
