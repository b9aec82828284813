-- The upkeep sweep. Jobs whose lease ran out go back to ready (now) or, attempts spent,
-- dead: first those whose lease expiry, by the caller's clock, is past (earliest first,
-- across queues), then hand-outs idle on their stream for longer than a lease by Redis's
-- clock (XAUTOCLAIM: a consumer that died without a word, whatever the caller's clock
-- says). Then consumers idle with nothing pending are dropped, and finished jobs past
-- their retention leave the workspace index.
-- ARGV: prefix, now, limit, min idle ms, finished before, sweep limit, consumer idle ms
-- Returns {requeued ids, dead ids}.

local limit, min_idle = tonumber(ARGV[3]), ARGV[4]
local finished_before, sweep_limit = ARGV[5], tonumber(ARGV[6])
local consumer_idle = tonumber(ARGV[7])
local requeued, dead, due_queues = {}, {}, {}

-- Settle one lost claim; `entry`, when given, must be the job's current hand-out.
local function lose(id, entry)
  local key = jkey(id)
  local job = redis.call('HMGET', key, 'status', 'queue', 'entry', 'workspace_id',
    'dedupe_key', 'attempts', 'max_attempts', 'priority', 'kind')
  if job[1] ~= 'claimed' or (entry and job[3] ~= entry) then return false end
  local queue = job[2]
  unclaim(id, queue, job[3])
  if tonumber(job[6]) < tonumber(job[7]) then
    redis.call('HSET', key, 'status', 'ready', 'last_error', 'lease expired', 'run_at', NOW,
      'updated_at', NOW)
    park(id, queue, job[8], NOW)
    due_queues[queue] = true
    requeued[#requeued + 1] = id
  else
    redis.call('HSET', key, 'status', 'dead', 'last_error', 'lease expired', 'run_at', NOW,
      'updated_at', NOW)
    bury(id, job[4], queue, job[9], job[5], 'lease expired')
    dead[#dead + 1] = id
  end
  return true
end

local queues = redis.call('SMEMBERS', P .. 'queues')
local left = limit

local expired = {}
for _, queue in ipairs(queues) do
  local rows = redis.call('ZRANGEBYSCORE', qkey(queue, 'leases'), '-inf', '(' .. NOW,
    'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #rows, 2 do
    expired[#expired + 1] = {rows[i], tonumber(rows[i + 1]), queue}
  end
end
table.sort(expired, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
for _, item in ipairs(expired) do
  if left <= 0 then break end
  if lose(item[1], nil) then
    left = left - 1
  else
    redis.call('ZREM', qkey(item[3], 'leases'), item[1])  -- a stale lease entry
  end
end

for _, queue in ipairs(queues) do
  local stream = qkey(queue, 'stream')
  if redis.call('EXISTS', stream) == 1 then
    if left > 0 then
      local cursor_key = qkey(queue, 'cursor')
      local cursor = redis.call('GET', cursor_key) or '0-0'
      local found = redis.call('XAUTOCLAIM', stream, GROUP, 'pigeon-reclaimer', min_idle,
        cursor, 'COUNT', left)
      redis.call('SET', cursor_key, found[1])
      for _, entry in ipairs(found[2]) do
        local id = type(entry[2]) == 'table' and entry[2][2]
        if id and lose(id, entry[1]) then
          left = left - 1
        else
          redis.call('XACK', stream, GROUP, entry[1])  -- a hand-out nobody holds
          redis.call('XDEL', stream, entry[1])
        end
      end
    end
    for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', stream, GROUP)) do
      local info = {}
      for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
      if info['pending'] == 0 and info['idle'] > consumer_idle then
        redis.call('XGROUP', 'DELCONSUMER', stream, GROUP, info['name'])
      end
    end
  end
end
for queue in pairs(due_queues) do wake(queue) end

local finished = P .. 'finished'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', finished, '-inf', finished_before,
    'LIMIT', 0, sweep_limit)) do
  local id, ws = string.sub(member, 1, 36), string.sub(member, 37)
  local status = redis.call('HGET', jkey(id), 'status')
  if status == 'done' or status == 'skipped' then redis.call('DEL', jkey(id)) end
  redis.call('ZREM', wkey(ws, 'jobs'), id)
  redis.call('ZREM', finished, member)
end

return {requeued, dead}
