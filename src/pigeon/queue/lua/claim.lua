-- Claim up to `limit` due jobs of one queue under one lease: promote the scheduled jobs
-- that fell due into the priority set, take its head (highest priority, then earliest
-- run-at, then id), hand each out on the queue's stream and read them back with XREADGROUP
-- as consumer `holder`, so each sits in that consumer's pending list until acked.
-- ARGV: prefix, now, queue, holder, limit, token, lease_expires_at, promote_max
-- Returns {jobs, next scheduled run-at or false, last wake id}; each job is its HGETALL
-- list as one JSON string: one reply to parse instead of dozens per job.

local queue, holder, limit = ARGV[3], ARGV[4], tonumber(ARGV[5])
local token, expires, promote_max = ARGV[6], ARGV[7], tonumber(ARGV[8])
local ready, sched = qkey(queue, 'ready'), qkey(queue, 'sched')
local stream = qkey(queue, 'stream')

local due = redis.call('ZRANGEBYSCORE', sched, '-inf', NOW, 'LIMIT', 0, promote_max)
for _, id in ipairs(due) do
  local job = redis.call('HMGET', jkey(id), 'status', 'priority', 'run_at')
  if job[1] == 'ready' then
    redis.call('ZADD', ready, -tonumber(job[2]), pad16(job[3]) .. id)
  end
  redis.call('ZREM', sched, id)
end

-- Nothing to hand out: what a blocking claim waits on, the next run-at and the wake id.
local function idle()
  local next_due = redis.call('ZRANGE', sched, 0, 0, 'WITHSCORES')
  local last = redis.call('XREVRANGE', qkey(queue, 'wake'), '+', '-', 'COUNT', 1)
  return {{}, next_due[2] or false, last[1] and last[1][1] or '0-0'}
end

local picked = redis.call('ZRANGE', ready, 0, limit - 1)
if #picked == 0 then return idle() end
redis.call('ZREMRANGEBYRANK', ready, 0, #picked - 1)

if redis.call('EXISTS', stream) == 0 then
  redis.call('XGROUP', 'CREATE', stream, GROUP, '$', 'MKSTREAM')
end
local attempts = {}  -- of the jobs handed out now, by id
local added = 0
for _, member in ipairs(picked) do
  local id = string.sub(member, 17)
  local job = redis.call('HMGET', jkey(id), 'status', 'attempts')
  if job[1] == 'ready' then
    redis.call('XADD', stream, '*', 'job_id', id)
    attempts[id] = tonumber(job[2]) + 1
    added = added + 1
  end
end
local jobs, leased = {}, {}
if added > 0 then
  local read = redis.call('XREADGROUP', 'GROUP', GROUP, holder, 'COUNT', added,
    'STREAMS', stream, '>')
  for _, entry in ipairs(read and read[1][2] or {}) do
    local id = entry[2][2]
    if attempts[id] then
      local key = jkey(id)
      redis.call('HSET', key, 'status', 'claimed', 'attempts', attempts[id], 'token', token,
        'holder', holder, 'lease_expires_at', expires, 'entry', entry[1], 'updated_at', NOW)
      leased[#leased + 1] = expires
      leased[#leased + 1] = id
      jobs[#jobs + 1] = cjson.encode(redis.call('HGETALL', key))
    else  -- an entry nobody handed out (left by a failed script): drop it
      redis.call('XACK', stream, GROUP, entry[1])
      redis.call('XDEL', stream, entry[1])
    end
  end
end
if #jobs == 0 then return idle() end
call_batched(leased, 'ZADD', qkey(queue, 'leases'))
return {jobs, false, false}
