-- Shared by every script of pigeon's Redis Streams queue (prepended to each one).
--
-- ARGV[1] is the key prefix and ARGV[2] "now", in epoch microseconds from the caller's
-- clock: no script reads Redis's clock for a run-at or a lease (tests freeze time).
-- Every time is an integer string of microseconds and stays a string: Lua's numbers are
-- doubles, exact for these values, but tostring() would print them in exponent form.
--
-- Keys (see redis_streams.py for the full layout):
--   job:<id>            hash, one per job
--   q:<queue>:ready     zset of due ready jobs: score -priority, member pad16(run_at)..id
--   q:<queue>:sched     zset of ready jobs not due yet: score run_at, member id
--   q:<queue>:stream    stream of hand-outs, consumer group "pigeon", one consumer per holder
--   q:<queue>:leases    zset of claimed jobs: score lease expiry, member id
--   q:<queue>:dead      set of dead ids;  q:<queue>:dlq  dead-letter stream
--   q:<queue>:wake      stream of one entry, bumped when due work arrives (blocking claims)
--   ws:<ws>:jobs  ws:<ws>:dead   zsets of ids, all score 0, so they sort by id (time)
--   dd:<#ws>:<ws>:<#queue>:<queue>:<key>  zset of the live jobs holding a dedupe key,
--                       oldest first (all score 0, ids sort by time)
--   finished            zset of done/skipped jobs: score finish time, member id..workspace

local P = ARGV[1]
local NOW = ARGV[2]
local GROUP = 'pigeon'
local DLQ_MAXLEN = 10000

local function jkey(id) return P .. 'job:' .. id end
local function qkey(queue, what) return P .. 'q:' .. queue .. ':' .. what end
local function wkey(ws, what) return P .. 'ws:' .. ws .. ':' .. what end

-- A run-at as a fixed-width string, so ready members of one priority sort by run-at, then id.
local function pad16(us)
  if string.sub(us, 1, 1) == '-' then return '0000000000000000' end
  return string.rep('0', 16 - #us) .. us
end

-- Lengths first, so no workspace, queue and key can spell another's key name.
local function dkey(ws, queue, key)
  return P .. 'dd:' .. #ws .. ':' .. ws .. ':' .. #queue .. ':' .. queue .. ':' .. key
end

-- The oldest live (ready or claimed) job holding a dedupe key, or false; ids of jobs that
-- stopped being live without letting go (none should) are dropped on the way.
local function live_twin(ws, queue, key)
  local holders = dkey(ws, queue, key)
  while true do
    local head = redis.call('ZRANGE', holders, 0, 0)[1]
    if not head then return false end
    local status = redis.call('HGET', jkey(head), 'status')
    if status == 'ready' or status == 'claimed' then return head end
    redis.call('ZREM', holders, head)
  end
end

-- redis.call(command, key, ..., items...) in slices, since unpack() has a stack limit.
-- Slices are even-sized, so pairs (score, member) stay together.
local function call_batched(items, ...)
  local head = {...}
  for first = 1, #items, 1000 do
    local args = {unpack(head)}
    for i = first, math.min(first + 999, #items) do args[#args + 1] = items[i] end
    redis.call(unpack(args))
  end
end

local function wake(queue)
  redis.call('XADD', qkey(queue, 'wake'), 'MAXLEN', '1', '*', 'w', '1')
end

-- A ready job goes where claim looks for it: the priority set when due, else the schedule.
-- Returns whether waiting claims must look again (the caller wakes them once per queue):
-- the job is due, or it is now the earliest scheduled one, which they wait for.
local function park(id, queue, priority, run_at)
  if tonumber(run_at) <= tonumber(NOW) then
    redis.call('ZADD', qkey(queue, 'ready'), -tonumber(priority), pad16(run_at) .. id)
    return true
  end
  redis.call('ZADD', qkey(queue, 'sched'), run_at, id)
  return redis.call('ZRANGE', qkey(queue, 'sched'), 0, 0)[1] == id
end

-- A claimed job leaves its claim: the hand-out acknowledged and deleted, the lease dropped,
-- so the old token matches nothing any more.
local function unclaim(id, queue, entry)
  if entry then
    local stream = qkey(queue, 'stream')
    redis.call('XACK', stream, GROUP, entry)
    redis.call('XDEL', stream, entry)
  end
  redis.call('ZREM', qkey(queue, 'leases'), id)
  redis.call('HDEL', jkey(id), 'token', 'holder', 'lease_expires_at', 'entry')
end

local function free_dedupe(id, ws, queue, key)
  if key then redis.call('ZREM', dkey(ws, queue, key), id) end
end

-- A job that died: indexed for re-drive and purge, logged on the dead-letter stream, its
-- dedupe key freed. The caller has written status and last_error.
local function bury(id, ws, queue, kind, key, reason)
  redis.call('SADD', qkey(queue, 'dead'), id)
  redis.call('ZADD', wkey(ws, 'dead'), 0, id)
  redis.call('XADD', qkey(queue, 'dlq'), 'MAXLEN', '~', DLQ_MAXLEN, '*',
    'job_id', id, 'reason', reason, 'workspace_id', ws, 'kind', kind)
  free_dedupe(id, ws, queue, key)
end

