// The Lua scripts of the Redis backends. Each runs atomically in Redis and costs one round trip, which is
// how publish, resume checks, PATCH and the rate limit stay correct with several instances at once.
//
// Keys of the event log (all three are passed as KEYS, in this order):
//   stream  the Redis Stream; entry fields: e (epoch), t (target user, '' for a broadcast),
//           y (event type), m (the message JSON without its seq)
//   epoch   the log's epoch; created with SET-if-absent semantics by whichever script needs it first. A
//           new epoch means a new log: the stream and trim mark are dropped with it.
//   trim    the largest stream id ever trimmed away ('0-0' or absent: nothing trimmed). A `since` at or
//           after it is still complete; one before it has lost events.

const EPOCH_AND_IDS = `
local function ensure_epoch(fresh)
  local e = redis.call('GET', KEYS[2])
  if not e then
    e = fresh
    redis.call('SET', KEYS[2], e)
    redis.call('DEL', KEYS[1], KEYS[3])
  end
  return e
end
local function parse_id(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function id_lt(a, b)
  local am, an = parse_id(a)
  local bm, bn = parse_id(b)
  if am ~= bm then return am < bm end
  return an < bn
end
local function first_id()
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #first > 0 then return first[1][1] end
  return nil
end
local function last_id()
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 then return last[1][1] end
  return '0-0'
end
`;

/**
 * Append one event. ARGV: fresh epoch, target ('' = broadcast), type, message JSON, history.
 * Trims to `history` entries once the stream is 10% over (amortised, like MAXLEN ~), but with XTRIM
 * MINID after reading exactly which ids go, so the trim mark is exact and resume never guesses.
 * Returns { epoch, id }.
 */
export const PUBLISH_LUA = `${EPOCH_AND_IDS}
local epoch = ensure_epoch(ARGV[1])
local id = redis.call('XADD', KEYS[1], '*', 'e', epoch, 't', ARGV[2], 'y', ARGV[3], 'm', ARGV[4])
local history = tonumber(ARGV[5])
local slack = math.max(1, math.floor(history / 10))
local len = redis.call('XLEN', KEYS[1])
if len > history + slack then
  local drop = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - history + 1)
  local keep = drop[#drop][1]
  redis.call('XTRIM', KEYS[1], 'MINID', keep)
  redis.call('SET', KEYS[3], drop[#drop - 1][1])
end
return {epoch, id}
`;

/** The log's epoch (created when absent) and its newest id ('0-0' when empty). ARGV: fresh epoch. */
export const HEAD_LUA = `${EPOCH_AND_IDS}
local epoch = ensure_epoch(ARGV[1])
return {epoch, last_id()}
`;

/**
 * The events after a `since`, for one user. ARGV: since epoch, since id, cap id (the newest id this
 * instance has delivered live: later events reach the connection live, so replaying them too would
 * duplicate them), user id, fresh epoch. Returns one of
 *   {'x', epoch, oldest}      window exceeded: another epoch, trimmed past, or a since from the future
 *   {'ahead', epoch}          since is valid but this instance has not delivered up to it yet
 *   {'ok', epoch, entries}    XRANGE (since, cap], filtered to broadcasts and the user's notifications
 */
export const READ_SINCE_LUA = `${EPOCH_AND_IDS}
local epoch = ensure_epoch(ARGV[5])
local function exceeded()
  return {'x', epoch, first_id() or last_id()}
end
if ARGV[1] ~= epoch then return exceeded() end
local since = ARGV[2]
local trimmed = redis.call('GET', KEYS[3])
if trimmed and id_lt(since, trimmed) then return exceeded() end
if id_lt(last_id(), since) then return exceeded() end
local cap = ARGV[3]
if id_lt(cap, since) then return {'ahead', epoch} end
local out = {}
if id_lt(since, cap) then
  local entries = redis.call('XRANGE', KEYS[1], '(' .. since, cap)
  local user = ARGV[4]
  for _, entry in ipairs(entries) do
    local f = entry[2]
    local target = ''
    for i = 1, #f, 2 do
      if f[i] == 't' then target = f[i + 1] end
    end
    if target == '' or target == user then out[#out + 1] = entry end
  end
end
return {'ok', epoch, out}
`;

/** PATCH a bug report atomically. KEYS: bugs hash. ARGV: id, patch JSON, updated_at. Returns {before, after} or nil. */
export const PATCH_BUG_LUA = `
local before = redis.call('HGET', KEYS[1], ARGV[1])
if not before then return nil end
local bug = cjson.decode(before)
for k, v in pairs(cjson.decode(ARGV[2])) do bug[k] = v end
bug['updated_at'] = ARGV[3]
local after = cjson.encode(bug)
redis.call('HSET', KEYS[1], ARGV[1], after)
return {before, after}
`;

/**
 * DELETE a bug report and its comments. KEYS: bugs hash, its comments hash, where deleted comments wait
 * for a possible revert. ARGV: id, ms the deleted comments are kept. Returns the last state or nil.
 */
export const DELETE_BUG_LUA = `
local last = redis.call('HGET', KEYS[1], ARGV[1])
if not last then return nil end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return last
`;

/**
 * Undo a change whose event could not be published, only if the record is still exactly as the change
 * left it (compared field by field: PATCHed records are re-encoded by cjson). KEYS: bugs hash, the
 * bug's comments hash, its deleted-comments key. ARGV: kind, id (bug or comment), the record as the
 * change left it (JSON, or '' for a delete), the record to put back (JSON, or ''). Returns 1 when undone.
 */
export const REVERT_LUA = `
local function same(a, b)
  local n = 0
  for k, v in pairs(a) do
    if b[k] ~= v then return false end
    n = n + 1
  end
  for _ in pairs(b) do n = n - 1 end
  return n == 0
end
local function matches(json, expected)
  if not json then return false end
  return same(cjson.decode(json), cjson.decode(expected))
end
local kind = ARGV[1]
if kind == 'bug_report_created' then
  if not matches(redis.call('HGET', KEYS[1], ARGV[2]), ARGV[3]) then return 0 end
  -- a comment on it is a later request's change: keep both
  if redis.call('HLEN', KEYS[2]) > 0 then return 0 end
  redis.call('HDEL', KEYS[1], ARGV[2])
  return 1
elseif kind == 'bug_report_updated' then
  if not matches(redis.call('HGET', KEYS[1], ARGV[2]), ARGV[3]) then return 0 end
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
  return 1
elseif kind == 'bug_report_deleted' then
  -- ids are never reused (INCR), so a free id means nothing took the report's place
  if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
  if redis.call('EXISTS', KEYS[3]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('RENAME', KEYS[3], KEYS[2])
    redis.call('PERSIST', KEYS[2])
  end
  return 1
elseif kind == 'comment_created' then
  if not matches(redis.call('HGET', KEYS[2], ARGV[2]), ARGV[3]) then return 0 end
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

/** Add a comment only if its bug report exists. KEYS: bugs hash, comments hash. ARGV: bug id, comment id, JSON. */
export const ADD_COMMENT_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/**
 * One rate-limit hit: a sliding window (now - window, now] in a sorted set of passed messages, scored by
 * time; refused messages are not added. Time is Redis's TIME (one clock for every instance), in
 * microseconds so that hits in one millisecond still order. KEYS: the user's set. ARGV: window ms, max,
 * unique member. Returns 1 (pass) or 0 (over the limit).
 */
export const RATE_LIMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window * 1000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 1
end
return 0
`;

/**
 * The shared part of the change scripts: one REST change and the events it causes (its broadcast and a
 * notification) are written by one script, both or neither, so events enter the stream in the order the
 * store applied the changes, on any number of instances. KEYS: stream, epoch, trim (as above), bugs
 * hash, then the script's own. ARGV: fresh epoch, history, then the script's own.
 */
const CHANGE_PRELUDE = `${EPOCH_AND_IDS}
local EPOCH = ensure_epoch(ARGV[1])
local HISTORY = tonumber(ARGV[2])
local appended = {}
local function append(target, kind, message)
  appended[#appended + 1] = redis.call('XADD', KEYS[1], '*', 'e', EPOCH, 't', target, 'y', kind, 'm', message)
end
local function notify(target, text, bug_id)
  append(target, 'notification', cjson.encode({type = 'notification', payload = {message = text, bug_report_id = bug_id}}))
end
local function trim()
  local slack = math.max(1, math.floor(HISTORY / 10))
  local len = redis.call('XLEN', KEYS[1])
  if len > HISTORY + slack then
    local drop = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - HISTORY + 1)
    redis.call('XTRIM', KEYS[1], 'MINID', drop[#drop][1])
    redis.call('SET', KEYS[3], drop[#drop - 1][1])
  end
end
`;

/**
 * Store a new bug report and append its events. ARGV[3..]: id, bug JSON, its `created` message, the
 * assignee ('' for none), the assignee's notification message. Returns 1.
 */
export const CREATE_BUG_CHANGE_LUA = `${CHANGE_PRELUDE}
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
append('', 'bug_report', ARGV[5])
if ARGV[6] ~= '' then append(ARGV[6], 'notification', ARGV[7]) end
trim()
return 1
`;

/**
 * PATCH a bug report and append `updated` (and a notification to a new assignee). ARGV[3..]: id, patch
 * JSON, updated_at, the assignment notification's text before the title. Returns {before, after} or nil.
 */
export const PATCH_BUG_CHANGE_LUA = `${CHANGE_PRELUDE}
local before = redis.call('HGET', KEYS[4], ARGV[3])
if not before then return nil end
local bug = cjson.decode(before)
local previous = bug['assignee_id']
for k, v in pairs(cjson.decode(ARGV[4])) do bug[k] = v end
bug['updated_at'] = ARGV[5]
local after = cjson.encode(bug)
redis.call('HSET', KEYS[4], ARGV[3], after)
append('', 'bug_report', cjson.encode({type = 'bug_report', action = 'updated', payload = bug}))
local assignee = bug['assignee_id']
if assignee ~= cjson.null and assignee ~= previous then notify(assignee, ARGV[6] .. bug['title'], bug['id']) end
trim()
return {before, after}
`;

/** DELETE a bug report and its comments, and append `deleted` with its last state. KEYS[5]: its comments. ARGV[3]: id. */
export const DELETE_BUG_CHANGE_LUA = `${CHANGE_PRELUDE}
local last = redis.call('HGET', KEYS[4], ARGV[3])
if not last then return nil end
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('DEL', KEYS[5])
append('', 'bug_report', cjson.encode({type = 'bug_report', action = 'deleted', payload = cjson.decode(last)}))
trim()
return last
`;

/**
 * Add a comment to an existing bug report and append `created` (and a notification to the assignee
 * unless they wrote it). KEYS[5]: its comments. ARGV[3..]: bug id, comment id, comment JSON, its
 * `created` message, author id, the comment notification's text before the title. Returns 1, or 0 when
 * the bug report does not exist.
 */
export const COMMENT_CHANGE_LUA = `${CHANGE_PRELUDE}
local json = redis.call('HGET', KEYS[4], ARGV[3])
if not json then return 0 end
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
append('', 'comment', ARGV[6])
local bug = cjson.decode(json)
local assignee = bug['assignee_id']
if assignee ~= cjson.null and assignee ~= ARGV[7] then notify(assignee, ARGV[8] .. bug['title'], bug['id']) end
trim()
return 1
`;
