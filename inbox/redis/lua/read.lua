-- Read a page of a user's log with its state, in one snapshot. Writes
-- nothing (flags=no-writes).
-- KEYS[1] meta, KEYS[2] log. ARGV[1] after, ARGV[2] most entries,
-- ARGV[3] payload bytes after which the page ends.
-- Returns {} for a user with no log, else {epoch, state, entries...}:
-- the entries from max(after+1, oldest) on.
local v = redis.call('HMGET', KEYS[1], 'e', 's')
if not v[1] then return {} end
if not v[2] or #v[2] ~= 64 then error({err = 'CORRUPT inbox: state'}) end
local top, oldest = struct.unpack('>i8i8', v[2])
local start = math.max(tonumber(ARGV[1]) + 1, oldest)
if start > top then return v end
local limit = math.min(tonumber(ARGV[2]), top - start + 1)
local budget = tonumber(ARGV[3])
-- Seqs are gapless from oldest on: seq s is at index s - oldest. Read in
-- batches, so that the byte bound stops a page of large entries early.
local i, got, bytes = start - oldest, 0, 0
while got < limit and bytes < budget do
  local want = math.min(limit - got, 128)
  local batch = redis.call('LRANGE', KEYS[2], i, i + want - 1)
  if #batch < want then error({err = 'CORRUPT inbox: log shorter than its state'}) end
  for _, e in ipairs(batch) do
    v[#v + 1] = e
    got = got + 1
    -- The payload follows the time and four ids.
    local _, h = string.find(e, '^[^ ]* [^ ]* [^ ]* [^ ]* ', 9)
    if not h then error({err = 'CORRUPT inbox: entry'}) end
    bytes = bytes + #e - h
    if bytes >= budget then break end
  end
  i = i + want
end
return v
