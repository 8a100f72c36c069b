/**
 * The Lua scripts behind `RedisOutbox`; each runs atomically, so a check and the write depending on
 * it (is this a repeat? is the lease still mine?) cannot be split by another instance.
 *
 * Keys, under the store's prefix:
 *   handoff:<id>                   hash: `doc` (the hand-off as JSON, never parsed in Lua),
 *                                  `createdAt`, `conversationId`, and per channel `<ch>:state`,
 *                                  `<ch>:attempts`, `<ch>:due`, `<ch>:token`, `<ch>:error`,
 *                                  `<ch>:updatedAt`. Expires after the retention.
 *   handoffs-of:<conversationId>   sorted set: hand-off ids by creation time. Expires likewise.
 *   handoff-prints:<conversationId> hash: fingerprint -> "<id> <createdAt>", to spot a repeat.
 *   handoff-due:<channel>          sorted set: pending hand-off ids by due time (the next attempt,
 *                                  or while leased the lease's end). The lease lives here.
 *   handoffs-by-time               sorted set: every hand-off id by creation time, for the sweep.
 *   handoff-conversations          sorted set: every conversation with a hand-off, by the
 *                                  conversation's own creation time (the inbox's listing order,
 *                                  walked by its hand-off filter).
 *   handoff-conversations-latest   sorted set: the same conversations by their latest hand-off's
 *                                  creation time, so the retention sweep can tell which have none
 *                                  left. Neither has a TTL, like handoffs-by-time: both are trimmed.
 */

/**
 * KEYS: handoff hash, handoffs-of, handoff-prints, handoffs-by-time, handoff-conversations,
 * handoff-conversations-latest, then one handoff-due per channel.
 * ARGV: id, now, ttlMs, windowMs, duplicateWindowMs, perConversation, fingerprint, conversationId,
 *       doc, conversationCreatedAt, then the channel names (same order as their due keys).
 * Answers {'duplicate', id}, {'limited', retryAfterMs} or {'stored', id}.
 */
export const ADD_HANDOFF = `
local now = tonumber(ARGV[2])
local seen = redis.call('HGET', KEYS[3], ARGV[7])
if seen then
  local sep = string.find(seen, ' ', 1, true)
  if tonumber(string.sub(seen, sep + 1)) >= now - tonumber(ARGV[5]) then
    return {'duplicate', string.sub(seen, 1, sep - 1)}
  end
end
-- The window excludes its start: a hand-off made exactly windowMs ago no longer counts.
local since = '(' .. (now - tonumber(ARGV[4]))
if redis.call('ZCOUNT', KEYS[2], since, '+inf') >= tonumber(ARGV[6]) then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[2], since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {'limited', tostring(math.max(1, tonumber(oldest[2]) + tonumber(ARGV[4]) - now))}
end
local id = ARGV[1]
redis.call('HSET', KEYS[1], 'doc', ARGV[9], 'createdAt', now, 'conversationId', ARGV[8])
for i = 11, #ARGV do
  local ch = ARGV[i]
  redis.call('HSET', KEYS[1], ch .. ':state', 'pending', ch .. ':attempts', 0, ch .. ':due', now, ch .. ':updatedAt', now)
  redis.call('ZADD', KEYS[6 + i - 10], now, id)
end
redis.call('ZADD', KEYS[2], now, id)
redis.call('HSET', KEYS[3], ARGV[7], id .. ' ' .. now)
redis.call('ZADD', KEYS[4], now, id)
redis.call('ZADD', KEYS[5], ARGV[10], ARGV[8])
redis.call('ZADD', KEYS[6], 'GT', now, ARGV[8])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return {'stored', id}
`;

/**
 * KEYS: handoff hash, handoff-due:<channel>. ARGV: id, channel, now, leaseUntil, token.
 * Leases one delivery if it is (still) due; answers its attempt number, or 0 when another instance
 * took it first. A due entry whose hand-off has expired is dropped (answers 0).
 */
export const CLAIM_DELIVERY = `
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then return 0 end
local ch = ARGV[2]
if redis.call('HGET', KEYS[1], ch .. ':state') ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[1], ch .. ':token', ARGV[5], ch .. ':due', ARGV[4], ch .. ':updatedAt', ARGV[3])
return redis.call('HINCRBY', KEYS[1], ch .. ':attempts', 1)
`;

/**
 * KEYS: handoff hash, handoff-due:<channel>. ARGV: id, channel, token, mode, now, at, error.
 * mode: delivered | retry (due again at `at`) | failed | release (due now, attempt not counted).
 * Answers 1, or 0 when the token no longer holds the lease.
 */
export const SETTLE_DELIVERY = `
local ch = ARGV[2]
if redis.call('HGET', KEYS[1], ch .. ':token') ~= ARGV[3] then return 0 end
local mode = ARGV[4]
redis.call('HDEL', KEYS[1], ch .. ':token')
redis.call('HSET', KEYS[1], ch .. ':updatedAt', ARGV[5])
if mode == 'delivered' or mode == 'failed' then
  redis.call('HSET', KEYS[1], ch .. ':state', mode)
  redis.call('ZREM', KEYS[2], ARGV[1])
  if mode == 'failed' then redis.call('HSET', KEYS[1], ch .. ':error', ARGV[7]) end
elseif mode == 'retry' then
  redis.call('HSET', KEYS[1], ch .. ':due', ARGV[6], ch .. ':error', ARGV[7])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
else
  redis.call('HINCRBY', KEYS[1], ch .. ':attempts', -1)
  redis.call('HSET', KEYS[1], ch .. ':due', ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
return 1
`;

/**
 * KEYS: handoff hash, handoffs-of, handoff-prints, handoffs-by-time, handoff-conversations,
 * handoff-conversations-latest, then every handoff-due. ARGV: id, conversationId. Removes one
 * hand-off and every index entry of it; the conversation leaves the conversation indexes with its
 * last hand-off.
 */
export const DELETE_HANDOFF = `
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local prints = redis.call('HGETALL', KEYS[3])
for i = 1, #prints, 2 do
  if string.sub(prints[i + 1], 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then redis.call('HDEL', KEYS[3], prints[i]) end
end
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[5], ARGV[2])
  redis.call('ZREM', KEYS[6], ARGV[2])
end
for i = 7, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return existed
`;
