-- Store new jobs, in order, each one unless a live twin (same workspace, queue and dedupe
-- key, ready or claimed) exists: then the oldest such twin's id is returned instead.
-- ARGV[3..]: one JSON array per job, every value a string or null:
--   [id, workspace_id, queue, kind, payload, priority, run_at, max_attempts, dedupe_key,
--    channel_id]
-- Returns a flat list: id, 1 (created) or 0 (a twin), for each job.

local out = {}
local due_queues = {}
for i = 3, #ARGV do
  local job = cjson.decode(ARGV[i])
  local id, ws, queue, kind = job[1], job[2], job[3], job[4]
  local priority, run_at, key, channel = job[6], job[7], job[9], job[10]
  local twin = false
  if key ~= cjson.null then twin = live_twin(ws, queue, key) end
  if twin then
    out[#out + 1] = twin
    out[#out + 1] = 0
  else
    local fields = {
      'id', id, 'workspace_id', ws, 'queue', queue, 'kind', kind, 'payload', job[5],
      'status', 'ready', 'priority', priority, 'run_at', run_at, 'attempts', '0',
      'max_attempts', job[8], 'created_at', NOW, 'updated_at', NOW,
    }
    if key ~= cjson.null then
      fields[#fields + 1] = 'dedupe_key'
      fields[#fields + 1] = key
      redis.call('ZADD', dkey(ws, queue, key), 0, id)
    end
    if channel ~= cjson.null then
      fields[#fields + 1] = 'channel_id'
      fields[#fields + 1] = channel
    end
    redis.call('HSET', jkey(id), unpack(fields))
    redis.call('ZADD', wkey(ws, 'jobs'), 0, id)
    redis.call('SADD', P .. 'queues', queue)
    if park(id, queue, priority, run_at) then due_queues[queue] = true end
    out[#out + 1] = id
    out[#out + 1] = 1
  end
end
for queue in pairs(due_queues) do wake(queue) end
return out
