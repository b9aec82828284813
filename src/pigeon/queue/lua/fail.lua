-- Record a failed attempt of a job held under the token: ready again at the retry time
-- while attempts remain, dead when they are spent or there is no retry time.
-- ARGV: prefix, now, id, token, error, retry_at ('' for none)
-- Returns {'ok', HGETALL as JSON} or {'missing'} or {'stale'}.

local id, token, err, retry_at = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = jkey(id)
local job = redis.call('HMGET', key, 'status', 'token', 'queue', 'entry', 'workspace_id',
  'dedupe_key', 'attempts', 'max_attempts', 'run_at', 'priority', 'kind')
if not job[1] then return {'missing'} end
if job[1] ~= 'claimed' or job[2] ~= token then return {'stale'} end
local queue = job[3]
unclaim(id, queue, job[4])
local run_at = job[9]
if retry_at ~= '' then run_at = retry_at end
if retry_at ~= '' and tonumber(job[7]) < tonumber(job[8]) then
  redis.call('HSET', key, 'status', 'ready', 'last_error', err, 'run_at', run_at,
    'updated_at', NOW)
  if park(id, queue, job[10], run_at) then wake(queue) end
else
  redis.call('HSET', key, 'status', 'dead', 'last_error', err, 'run_at', run_at,
    'updated_at', NOW)
  bury(id, job[5], queue, job[11], job[6], err)
end
return {'ok', cjson.encode(redis.call('HGETALL', key))}
