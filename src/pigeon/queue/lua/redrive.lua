-- Dead jobs back to ready, now, with fresh attempts, holding their dedupe keys again (beside
-- any twin enqueued meanwhile: the oldest live one is what a later enqueue returns).
-- ARGV: prefix, now, ids...
-- Returns the ids re-driven.

local moved, due_queues = {}, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = jkey(id)
  local job = redis.call('HMGET', key, 'status', 'queue', 'workspace_id', 'priority',
    'dedupe_key')
  if job[1] == 'dead' then
    local queue, ws = job[2], job[3]
    redis.call('SREM', qkey(queue, 'dead'), id)
    redis.call('ZREM', wkey(ws, 'dead'), id)
    redis.call('HSET', key, 'status', 'ready', 'attempts', '0', 'run_at', NOW,
      'updated_at', NOW)
    park(id, queue, job[4], NOW)
    due_queues[queue] = true
    if job[5] then redis.call('ZADD', dkey(ws, queue, job[5]), 0, id) end
    moved[#moved + 1] = id
  end
end
for queue in pairs(due_queues) do wake(queue) end
return moved
