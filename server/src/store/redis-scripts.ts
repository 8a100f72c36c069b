/**
 * The Lua scripts behind `RedisStore`. Each runs atomically inside Redis, so a check and the
 * write that depends on it (does the conversation exist? is this an assistant message?) cannot
 * be split by another instance's write.
 *
 * Every conversation-writing script takes the same five keys, in this order:
 *   KEYS[1] conversation hash (createdAt, updatedAt): its existence is the conversation's
 *   KEYS[2] list of message ids in append order
 *   KEYS[3] hash of message fields, `<messageId>:role|status|createdAt|content|sources`
 *   KEYS[4] hash of ratings, `<messageId>` -> up|down
 *   KEYS[5] sorted set of conversation ids by last activity, for `deleteIdleSince`
 * Keys 1-4 expire after the retention; every write refreshes them ("activity").
 * Creating and deleting a conversation take a sixth, the sorted set of conversation ids by
 * creation time that the support inbox lists from (see redis-inbox.ts).
 *
 * Fields are flat, not JSON, so content goes through byte for byte (cjson would re-escape it).
 */

const TOUCH = `
local function touch(id, now, ttl)
  redis.call('HSET', KEYS[1], 'updatedAt', now)
  redis.call('ZADD', KEYS[5], now, id)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
`;

/** ARGV: conversationId, now, ttlMs. KEYS[6]: the creation-time index. */
export const CREATE_CONVERSATION = `${TOUCH}
redis.call('HSET', KEYS[1], 'createdAt', ARGV[2])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
touch(ARGV[1], ARGV[2], ARGV[3])
return 1
`;

/**
 * ARGV: conversationId, messageId, role, status, content, now, ttlMs, page (or empty), sources (a
 * JSON array, or empty for none). Answers 0 when no conversation. The conversation keeps the
 * first page it is given.
 */
export const APPEND_MESSAGE = `${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local id = ARGV[2]
redis.call('RPUSH', KEYS[2], id)
redis.call('HSET', KEYS[3], id .. ':role', ARGV[3], id .. ':status', ARGV[4],
  id .. ':createdAt', ARGV[6], id .. ':content', ARGV[5])
if ARGV[8] and ARGV[8] ~= '' then redis.call('HSETNX', KEYS[1], 'page', ARGV[8]) end
if ARGV[9] ~= nil and ARGV[9] ~= '' then redis.call('HSET', KEYS[3], id .. ':sources', ARGV[9]) end
touch(ARGV[1], ARGV[6], ARGV[7])
return 1
`;

/**
 * ARGV: conversationId, messageId, status, content, now, ttlMs, meta (a finished reply's metadata
 * as JSON, or empty while it streams). Answers 0 when no such message.
 */
export const UPDATE_MESSAGE = `${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local id = ARGV[2]
if redis.call('HEXISTS', KEYS[3], id .. ':role') == 0 then return 0 end
redis.call('HSET', KEYS[3], id .. ':status', ARGV[3], id .. ':content', ARGV[4])
if ARGV[7] and ARGV[7] ~= '' then redis.call('HSET', KEYS[3], id .. ':meta', ARGV[7]) end
touch(ARGV[1], ARGV[5], ARGV[6])
return 1
`;

/** ARGV: conversationId, messageId, now, ttlMs. Removes the message and its rating; 0 when no such message. */
export const DELETE_MESSAGE = `${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local id = ARGV[2]
if redis.call('HEXISTS', KEYS[3], id .. ':role') == 0 then return 0 end
redis.call('LREM', KEYS[2], 0, id)
redis.call('HDEL', KEYS[3], id .. ':role', id .. ':status', id .. ':createdAt', id .. ':content', id .. ':sources', id .. ':meta')
redis.call('HDEL', KEYS[4], id)
touch(ARGV[1], ARGV[3], ARGV[4])
return 1
`;

/** ARGV: conversationId, messageId, rating, now, ttlMs. Only assistant messages can be rated. */
export const SET_FEEDBACK = `${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[3], ARGV[2] .. ':role') ~= 'assistant' then return 0 end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
touch(ARGV[1], ARGV[4], ARGV[5])
return 1
`;

/**
 * KEYS[6]: the creation-time index.
 * ARGV: conversationId, cutoff (or empty for "unconditionally"). Deletes when the conversation's
 * last activity is before the cutoff, re-checked here so a conversation touched after the sweep
 * listed it survives. Answers 1 when a live conversation was deleted, 0 otherwise (already gone,
 * e.g. expired by TTL, whose leftover index entry is removed all the same).
 */
export const DELETE_CONVERSATION = `
if ARGV[2] ~= '' then
  local score = redis.call('ZSCORE', KEYS[5], ARGV[1])
  if score and tonumber(score) >= tonumber(ARGV[2]) then return 0 end
end
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
return existed
`;
