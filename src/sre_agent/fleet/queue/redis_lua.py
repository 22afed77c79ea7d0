"""The Lua scripts of `RedisQueue`: every state change is one script, atomic on the server and
timed by the server's clock (`TIME`), so workers on several machines need not agree on time.

Keys, all under one prefix `P` (default `{sre-queue}`: the braces are a Redis Cluster hash tag,
so every key of a queue lives in one slot and a script may touch them together):

    P:item:<id>           hash: the item's record (authoritative state, token, lease, result)
    P:q:<job>:<0|1|2>     stream per job and priority, consumer group "workers"; one entry per
                          open item (field id=<id>), XACK+XDEL'd when the item ends
    P:active              zset job -> seq of its first open item (claim order across jobs)
    P:open                hash job -> open (queued or running) items
    P:ids, P:jobitems:<job>   zsets id -> put order;  P:st:<state> set of ids;  P:seq counter
    P:unlogged:<job>      set of done ids whose result the job's recorder has not logged yet
    P:cur:<job>:<p>       where the next claim's XAUTOCLAIM scan of that stream starts
    P:job:<id>, P:jobs    the job records, and a zset job -> created (ms)

A requeued item keeps its stream entry (its place in line): the entry moves to the consumer
`__requeued__` with a huge idle time, so the next claim's XAUTOCLAIM takes it before any newer
entry. A running item's entry is held by its worker's consumer, its idle time reset by every
renew (XCLAIM JUSTID), so XAUTOCLAIM with min-idle = one lease finds the ones nobody renews;
the item hash's `lease_until` is the authority (min-idle only applies to a whole call).
Scripts check everything before their first write: a Lua error does not undo earlier writes.
"""

from __future__ import annotations

PRELUDE = """
local P = KEYS[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ikey(id) return P .. ':item:' .. id end
local function qkey(job, p) return P .. ':q:' .. job .. ':' .. p end
local function set_state(id, old, new)
  if old then redis.call('SREM', P .. ':st:' .. old, id) end
  redis.call('SADD', P .. ':st:' .. new, id)
  redis.call('HSET', ikey(id), 'state', new)
end
local function drop_entry(job, p, eid)
  if eid and eid ~= '' and redis.call('EXISTS', qkey(job, p)) == 1 then
    redis.call('XACK', qkey(job, p), 'workers', eid)
    redis.call('XDEL', qkey(job, p), eid)
  end
end
local function close_open(job)
  if redis.call('HINCRBY', P .. ':open', job, -1) <= 0 then
    redis.call('HDEL', P .. ':open', job)
    redis.call('ZREM', P .. ':active', job)
    for p = 0, 2 do redis.call('DEL', qkey(job, p), P .. ':cur:' .. job .. ':' .. p) end
  end
end
local function requeue(id, now, attempts_delta)
  local k = ikey(id)
  set_state(id, 'running', 'queued')
  redis.call('HSET', k, 'owner', '', 'lease_until', 0, 'updated', now, 'stage', '')
  if attempts_delta ~= 0 then redis.call('HINCRBY', k, 'attempts', attempts_delta) end
  redis.call('XCLAIM', qkey(redis.call('HGET', k, 'job'), redis.call('HGET', k, 'prio')),
             'workers', '__requeued__', 0, redis.call('HGET', k, 'eid'),
             'IDLE', 100000000000, 'JUSTID')
end
local function finish(id, state, now, field, value)
  local k = ikey(id)
  local job = redis.call('HGET', k, 'job')
  set_state(id, redis.call('HGET', k, 'state'), state)
  redis.call('HSET', k, field, value, 'finished', now, 'updated', now, 'lease_until', 0,
             'owner', '', 'stage', '')
  drop_entry(job, redis.call('HGET', k, 'prio'), redis.call('HGET', k, 'eid'))
  if state == 'done' then redis.call('SADD', P .. ':unlogged:' .. job, id) end
  close_open(job)
end
local function expired(id, now)
  local k = ikey(id)
  local att = tonumber(redis.call('HGET', k, 'attempts'))
  local max = tonumber(redis.call('HGET', k, 'max_attempts'))
  if att >= max then
    finish(id, 'failed', now, 'error', 'lease expired on attempt ' .. att .. ' of ' .. max)
    return false
  end
  return true
end
local function take(id, job, p, eid, worker, lease, now)
  local k = ikey(id)
  local tok = redis.call('HINCRBY', k, 'token', 1)
  local att = redis.call('HINCRBY', k, 'attempts', 1)
  set_state(id, redis.call('HGET', k, 'state'), 'running')
  redis.call('HSET', k, 'owner', worker, 'lease_until', now + lease, 'updated', now,
             'claimed', now, 'eid', eid, 'stage', '')
  return {id, job, tostring(tok), tostring(att), tostring(now + lease), tostring(p),
          redis.call('HGET', k, 'payload'), redis.call('HGET', k, 'cancel')}
end
-- An entry found idle in the PEL: take it (for a claim), give it back to a live owner, put
-- it back in line, or drop it. Returns a claim (a table) or nil.
local function consider(id, job, p, eid, worker, lease, now, for_claim, out)
  local k = ikey(id)
  local st = redis.call('HGET', k, 'state')
  if (st ~= 'queued' and st ~= 'running') or redis.call('HGET', k, 'eid') ~= eid then
    drop_entry(job, p, eid)
    return nil
  end
  if st == 'running' then
    if tonumber(redis.call('HGET', k, 'lease_until')) > now then
      redis.call('XCLAIM', qkey(job, p), 'workers', redis.call('HGET', k, 'owner'), 0, eid,
                 'JUSTID')
      return nil
    end
    if out then table.insert(out, id) end
    if not expired(id, now) then return nil end
    if not for_claim then requeue(id, now, 0); return nil end
  elseif not for_claim then
    redis.call('XCLAIM', qkey(job, p), 'workers', '__requeued__', 0, eid,
               'IDLE', 100000000000, 'JUSTID')
    return nil
  end
  return take(id, job, p, eid, worker, lease, now)
end
"""

# ARGV: max_attempts, then (id, job, priority, payload) per item
PUT_MANY = """
local n, now = 0, now_ms()
for i = 2, #ARGV, 4 do
  local id, job, p, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local k = ikey(id)
  if redis.call('EXISTS', k) == 0 then
    local seq = redis.call('INCR', P .. ':seq')
    redis.call('HSET', k, 'id', id, 'job', job, 'prio', p, 'payload', payload, 'attempts', 0,
               'max_attempts', ARGV[1], 'token', 0, 'owner', '', 'lease_until', 0,
               'created', now, 'updated', now, 'claimed', 0, 'finished', 0, 'seq', seq,
               'cancel', 0, 'stage', '', 'logged', 0)
    redis.call('ZADD', P .. ':ids', seq, id)
    redis.call('ZADD', P .. ':jobitems:' .. job, seq, id)
    set_state(id, nil, 'queued')
    local q = qkey(job, p)
    if redis.call('EXISTS', q) == 0 then
      redis.call('XGROUP', 'CREATE', q, 'workers', '0', 'MKSTREAM')
    end
    redis.call('HSET', k, 'eid', redis.call('XADD', q, '*', 'id', id))
    redis.call('ZADD', P .. ':active', 'NX', seq, job)
    redis.call('HINCRBY', P .. ':open', job, 1)
    n = n + 1
  end
end
return n
"""

# ARGV: worker, lease_ms, min_idle_ms, autoclaim_count, then the jobs to claim from (none:
# every active job, oldest first)
CLAIM = """
local worker, lease, min_idle = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local jobs = {}
if #ARGV > 4 then
  for i = 5, #ARGV do table.insert(jobs, ARGV[i]) end
else
  jobs = redis.call('ZRANGE', P .. ':active', 0, 999)
end
for p = 0, 2 do
  for _, job in ipairs(jobs) do
    local q = qkey(job, p)
    if redis.call('EXISTS', q) == 1 then
      local ck = P .. ':cur:' .. job .. ':' .. p
      local cur = redis.call('GET', ck) or '0-0'
      local r = redis.call('XAUTOCLAIM', q, 'workers', worker, min_idle, cur, 'COUNT', ARGV[4])
      if r[1] ~= cur then redis.call('SET', ck, r[1]) end
      for _, e in ipairs(r[2]) do
        local c = consider(e[2][2], job, p, e[1], worker, lease, now, true, nil)
        if c then return c end
      end
      while redis.call('EXISTS', q) == 1 do
        local rr = redis.call('XREADGROUP', 'GROUP', 'workers', worker, 'COUNT', 1,
                              'STREAMS', q, '>')
        if not rr then break end
        local e = rr[1][2][1]
        local id = e[2][2]
        if redis.call('HGET', ikey(id), 'state') == 'queued'
            and redis.call('HGET', ikey(id), 'eid') == e[1] then
          return take(id, job, p, e[1], worker, lease, now)
        end
        drop_entry(job, p, e[1])
      end
    end
  end
end
return false
"""

# ARGV: min_idle_ms.  Scans the whole PEL of every active job.
RECLAIM = """
local now, out = now_ms(), {}
for _, job in ipairs(redis.call('ZRANGE', P .. ':active', 0, -1)) do
  for p = 0, 2 do
    local q, cursor = qkey(job, p), '0-0'
    while redis.call('EXISTS', q) == 1 do
      local r = redis.call('XAUTOCLAIM', q, 'workers', '__reaper__', ARGV[1], cursor,
                           'COUNT', 100)
      cursor = r[1]
      for _, e in ipairs(r[2]) do consider(e[2][2], job, p, e[1], '', 0, now, false, out) end
      if cursor == '0-0' then break end
    end
  end
end
return out
"""

# ARGV: id, token, lease_ms, worker, stage
RENEW = """
local k = ikey(ARGV[1])
if redis.call('HGET', k, 'state') ~= 'running' or redis.call('HGET', k, 'token') ~= ARGV[2] then
  return false
end
local now = now_ms()
redis.call('HSET', k, 'lease_until', now + tonumber(ARGV[3]), 'updated', now)
if ARGV[5] ~= '' then redis.call('HSET', k, 'stage', ARGV[5]) end
redis.call('XCLAIM', qkey(redis.call('HGET', k, 'job'), redis.call('HGET', k, 'prio')),
           'workers', ARGV[4], 0, redis.call('HGET', k, 'eid'), 'JUSTID')
return {tostring(now + tonumber(ARGV[3])), redis.call('HGET', k, 'cancel')}
"""

# ARGV: id, token, result_json
COMPLETE = """
local k = ikey(ARGV[1])
local st = redis.call('HGET', k, 'state')
if redis.call('HGET', k, 'token') ~= ARGV[2] then return 0 end
if st == 'done' then return 1 end  -- this claim's own result, recorded by an earlier try
if st ~= 'running' then return 0 end
finish(ARGV[1], 'done', now_ms(), 'result', ARGV[3])
return 1
"""

# ARGV: id, token, error, retry (0/1), mode (fail | release | expire)
FAIL = """
local id = ARGV[1]
local k = ikey(id)
if redis.call('HGET', k, 'state') ~= 'running' or redis.call('HGET', k, 'token') ~= ARGV[2] then
  return 0
end
local now = now_ms()
if ARGV[5] == 'release' then requeue(id, now, -1); return 1 end
if ARGV[5] == 'expire' then
  if expired(id, now) then requeue(id, now, 0) end
  return 1
end
redis.call('HSET', k, 'error', ARGV[3])
if ARGV[4] == '1' and tonumber(redis.call('HGET', k, 'attempts')) <
                      tonumber(redis.call('HGET', k, 'max_attempts')) then
  requeue(id, now, 0)
else
  finish(id, 'failed', now, 'error', ARGV[3])
end
return 1
"""

# ARGV: id
CANCEL = """
local id = ARGV[1]
local st = redis.call('HGET', ikey(id), 'state')
if st == 'queued' then
  finish(id, 'cancelled', now_ms(), 'cancel', 1)
  return 1
elseif st == 'running' then
  redis.call('HSET', ikey(id), 'cancel', 1, 'updated', now_ms())
  return 1
end
return 0
"""

# ARGV: ids
MARK_LOGGED = """
for i = 1, #ARGV do
  local job = redis.call('HGET', ikey(ARGV[i]), 'job')
  if job then
    redis.call('SREM', P .. ':unlogged:' .. job, ARGV[i])
    redis.call('HSET', ikey(ARGV[i]), 'logged', 1)
  end
end
return #ARGV
"""

# ARGV: id, created_ms, then field/value pairs
PUT_JOB = """
local k = P .. ':job:' .. ARGV[1]
if redis.call('EXISTS', k) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', k, ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', P .. ':jobs', ARGV[2], ARGV[1])
return 1
"""

__all__ = ["CANCEL", "CLAIM", "COMPLETE", "FAIL", "MARK_LOGGED", "PRELUDE", "PUT_JOB",
           "PUT_MANY", "RECLAIM", "RENEW"]
