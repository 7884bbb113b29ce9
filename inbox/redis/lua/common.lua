-- Shared by the inbox's write scripts: the Go side puts it after the
-- shebang and before each script's own part. docs/REDIS.md ("The inbox on
-- Redis") draws the records.
--
-- Every key of one user carries the user id as its hash tag, so one call
-- may touch all of them; a script gets them as 7 consecutive KEYS per
-- user: meta, log, devices, conversation ids, unread index, idempotency
-- records, idempotency times.
--
-- Numbers are packed as 8-byte big-endian integers (struct.pack): one C
-- call per record, where formatting each number would create a Lua string
-- per number, and a Lua string costs about as much as a Redis command.
-- Times are microseconds, exact in a Lua number until the year 2255;
-- seqs and counters are integers below 2^53.

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
  local b = i * 7
  return {m = KEYS[b + 1], l = KEYS[b + 2], d = KEYS[b + 3], z = KEYS[b + 4],
          x = KEYS[b + 5], k = KEYS[b + 6], q = KEYS[b + 7]}
end

-- The meta hash holds e (the epoch, a decimal string Lua never reads), s
-- (the state: top, oldest, bytes, unread, created, updated, the time of
-- the oldest kept entry or -1 when unknown, and 1 once the user is in the
-- users index), and one field per conversation: a space, then its id.
local STATE = '>i8i8i8i8i8i8i8i8'

local function unpackState(s)
  if #s ~= 64 then corrupt('state') end
  local t, o, b, n, c, u, h, l = struct.unpack(STATE, s)
  return {t = t, o = o, b = b, n = n, c = c, u = u, h = h, l = l}
end

local function packState(m)
  return struct.pack(STATE, m.t, m.o, m.b, m.n, m.c, m.u, m.h, m.l)
end

-- newState begins a log. Given the users index (a single server), it lists
-- the user in the same step; in a cluster the index is in another slot,
-- and the Go side lists the user after the call (l stays 0 until then).
local function newState(meta, user, epoch, now, index)
  local m = {t = 0, o = 1, b = 0, n = 0, c = now, u = now, h = -1, l = 0}
  if index then
    redis.call('ZADD', index, 0, user)
    m.l = 1
  end
  redis.call('HSET', meta, 'e', epoch)
  return m
end

-- A conversation: read marker, kept, unread, last seq, last time.
local CONV = '>i8i8i8i8i8'

local function unpackConv(v)
  if #v ~= 40 then corrupt('conversation') end
  local r, k, u, s, t = struct.unpack(CONV, v)
  return {read = r, kept = k, unread = u, last = s, time = t}
end

local function packConv(c)
  return struct.pack(CONV, c.read, c.kept, c.unread, c.last, c.time)
end

-- member is an entry's name in the unread index: the index holds the
-- unread entries only (not the user's own, not those at or below the
-- marker), so that a marker's move removes exactly what it read.
local function member(conv, seq) return conv .. ' ' .. string.format('%016d', seq) end

-- An entry is its time (8 bytes), then conv ' ' from ' ' fromDevice ' '
-- key ' ' payload. Retention counts 13 bytes of header where this one has
-- 12.
local function entryBytes(e) return #e + 1 end

local function entryTime(e)
  return (struct.unpack('>i8', e))
end

-- dropHead removes the log's oldest entry and takes it out of its
-- conversation's counters. A conversation with no entry left is
-- forgotten, marker too: a marker below every entry says nothing. cur,
-- when given, is the conversation the caller holds in memory ({conv,
-- c}) and writes back itself: its record is changed there, not in Redis.
local function dropHead(K, user, m, cur)
  local e = redis.call('LPOP', K.l)
  if not e then corrupt('log shorter than its state') end
  local conv, from = string.match(e, '^([^ ]+) ([^ ]*) ', 9)
  if not conv then corrupt('entry') end
  local c, field
  if cur and conv == cur.conv then
    c = cur.c
  else
    field = ' ' .. conv
    local v = redis.call('HGET', K.m, field)
    if not v then corrupt('no record of a conversation') end
    c = unpackConv(v)
  end
  c.kept = c.kept - 1
  if from ~= user and redis.call('ZREM', K.x, member(conv, m.o)) == 1 then
    c.unread = c.unread - 1
    m.n = m.n - 1
  end
  if field then
    if c.kept == 0 then
      redis.call('HDEL', K.m, field)
      redis.call('ZREM', K.z, conv)
    else
      redis.call('HSET', K.m, field, packConv(c))
    end
  end
  m.b = m.b - entryBytes(e)
  m.o = m.o + 1
  m.h = -1
end

-- limits reads the retention arguments; negative is no limit.
local function limits(entries, age, bytes)
  return {entries = tonumber(entries), age = tonumber(age), bytes = tonumber(bytes)}
end

-- trim removes the oldest entries while the log breaks a limit, at most
-- max of them, and returns how many. Only the head goes, so the kept
-- seqs stay gapless and oldest-1 is exactly the number removed; bytes
-- never remove the last entry. The head's time is kept in the state, so
-- that the age limit costs no read while nothing is removed. cur is as
-- for dropHead.
local function trim(K, user, m, now, R, max, cur)
  local removed = 0
  while removed < max and m.t >= m.o do
    local kept = m.t - m.o + 1
    local over = (R.entries >= 0 and kept > R.entries) or (R.bytes >= 0 and m.b > R.bytes and kept > 1)
    if not over and R.age >= 0 then
      if m.h < 0 then
        local head = redis.call('LINDEX', K.l, 0)
        if not head then corrupt('log shorter than its state') end
        m.h = entryTime(head)
      end
      over = m.h < now - R.age
    end
    if not over then break end
    dropHead(K, user, m, cur)
    removed = removed + 1
  end
  return removed
end

-- An idempotency record: the seq and the time of the key's first append.
local IDEM = '>i8i8'

-- expireIdem removes up to max idempotency records at least a window
-- old, oldest first.
local function expireIdem(K, now, window, max)
  local old = redis.call('ZRANGEBYSCORE', K.q, '-inf', now - window, 'LIMIT', 0, max)
  if #old > 0 then
    redis.call('HDEL', K.k, unpack(old))
    redis.call('ZREM', K.q, unpack(old))
  end
  return #old
end
