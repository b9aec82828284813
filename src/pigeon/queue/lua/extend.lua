-- Renew the leases of jobs held under the token: a later expiry in the hash and the lease
-- set, and the stream entry re-claimed by the same consumer, which resets its idle time so
-- XAUTOCLAIM leaves it alone.
-- ARGV: prefix, now, token, lease_expires_at, ids...
-- Returns the ids renewed.

local token, expires = ARGV[3], ARGV[4]
local renewed = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local key = jkey(id)
  local job = redis.call('HMGET', key, 'status', 'token', 'queue', 'entry', 'holder')
  if job[1] == 'claimed' and job[2] == token then
    redis.call('HSET', key, 'lease_expires_at', expires, 'updated_at', NOW)
    redis.call('ZADD', qkey(job[3], 'leases'), expires, id)
    redis.call('XCLAIM', qkey(job[3], 'stream'), GROUP, job[5], 0, job[4], 'JUSTID')
    renewed[#renewed + 1] = id
  end
end
return renewed
