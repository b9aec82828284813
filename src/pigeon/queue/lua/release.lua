-- Hand back jobs held under the token that were never started: ready at once, at their
-- own run-at (so they keep their place), the attempt not counted.
-- ARGV: prefix, now, token, ids...
-- Returns the ids released.

local token = ARGV[3]
local released = {}
local due_queues = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = jkey(id)
  local job = redis.call('HMGET', key, 'status', 'token', 'queue', 'entry', 'priority',
    'run_at')
  if job[1] == 'claimed' and job[2] == token then
    unclaim(id, job[3], job[4])
    redis.call('HINCRBY', key, 'attempts', -1)
    redis.call('HSET', key, 'status', 'ready', 'updated_at', NOW)
    if park(id, job[3], job[5], job[6]) then due_queues[job[3]] = true end
    released[#released + 1] = id
  end
end
for queue in pairs(due_queues) do wake(queue) end
return released
