-- Finish claimed jobs still held under the presented token: done, or skipped with a reason.
-- A finished hash expires after the retention; `finished` lets the upkeep sweep its index
-- entries by the caller's clock. Hand-outs and leases are settled per queue in bulk.
-- ARGV: prefix, now, retention seconds, then per job: id, token, 'done' | 'skipped', reason
-- Returns the ids finished.

local retention = ARGV[3]
local finished, settled = {}, {}
for i = 4, #ARGV, 4 do
  local id, token, how, reason = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = jkey(id)
  local job = redis.call('HMGET', key, 'status', 'token', 'queue', 'entry', 'workspace_id',
    'dedupe_key')
  if job[1] == 'claimed' and job[2] == token then
    local queue = job[3]
    local batch = settled[queue]
    if not batch then
      batch = {ids = {}, entries = {}}
      settled[queue] = batch
    end
    batch.ids[#batch.ids + 1] = id
    if job[4] then batch.entries[#batch.entries + 1] = job[4] end
    if how == 'done' then
      redis.call('HSET', key, 'status', 'done', 'updated_at', NOW)
      redis.call('HDEL', key, 'token', 'holder', 'lease_expires_at', 'entry', 'last_error')
    else
      redis.call('HSET', key, 'status', 'skipped', 'last_error', reason, 'updated_at', NOW)
      redis.call('HDEL', key, 'token', 'holder', 'lease_expires_at', 'entry')
    end
    free_dedupe(id, job[5], queue, job[6])
    redis.call('EXPIRE', key, retention)
    redis.call('ZADD', P .. 'finished', NOW, id .. job[5])
    finished[#finished + 1] = id
  end
end
for queue, batch in pairs(settled) do
  local stream = qkey(queue, 'stream')
  call_batched(batch.entries, 'XACK', stream, GROUP)
  call_batched(batch.entries, 'XDEL', stream)
  call_batched(batch.ids, 'ZREM', qkey(queue, 'leases'))
end
return finished
