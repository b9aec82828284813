-- Delete dead jobs and every index entry of them.
-- ARGV: prefix, now, ids...
-- Returns the ids deleted.

local gone = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local job = redis.call('HMGET', jkey(id), 'status', 'queue', 'workspace_id')
  if job[1] == 'dead' then
    redis.call('SREM', qkey(job[2], 'dead'), id)
    redis.call('ZREM', wkey(job[3], 'dead'), id)
    redis.call('ZREM', wkey(job[3], 'jobs'), id)
    redis.call('DEL', jkey(id))
    gone[#gone + 1] = id
  end
end
return gone
