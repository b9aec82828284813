-- How much work waits in each of the given queues (all known queues when none given):
-- per queue {ready due, scheduled, claimed, dead, earliest due run-at or false}.
-- The earliest due run-at is the head of the schedule when due, or the head of one of the
-- priority bands of the ready set (one ZRANGEBYSCORE per band).
-- ARGV: prefix, now, queues...

local queues = {}
for i = 3, #ARGV do queues[#queues + 1] = ARGV[i] end
if #queues == 0 then queues = redis.call('SMEMBERS', P .. 'queues') end
local now = tonumber(NOW)
local out = {}
for _, queue in ipairs(queues) do
  local ready, sched = qkey(queue, 'ready'), qkey(queue, 'sched')
  local due = redis.call('ZCOUNT', sched, '-inf', NOW)
  local oldest = false
  local head = redis.call('ZRANGE', sched, 0, 0, 'WITHSCORES')
  if head[2] and tonumber(head[2]) <= now then oldest = tonumber(head[2]) end
  local band = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  while band[1] do
    local run_at = tonumber(string.sub(band[1], 1, 16))
    if not oldest or run_at < oldest then oldest = run_at end
    band = redis.call('ZRANGEBYSCORE', ready, '(' .. band[2], '+inf', 'WITHSCORES',
      'LIMIT', 0, 1)
  end
  out[#out + 1] = {
    redis.call('ZCARD', ready) + due,
    redis.call('ZCARD', sched) - due,
    redis.call('ZCARD', qkey(queue, 'leases')),
    redis.call('SCARD', qkey(queue, 'dead')),
    oldest and string.format('%.0f', oldest) or false,
  }
end
return out
