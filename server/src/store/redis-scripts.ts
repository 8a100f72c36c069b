/**
 * The Lua scripts behind `RedisStore`. Each runs atomically inside Redis, so a check and the
 * write that depends on it (does the conversation exist? is this an assistant message?) cannot
 * be split by another instance's write.
 *
 * Every conversation-writing script takes the same five keys, in this order:
 *   KEYS[1] conversation hash (createdAt, updatedAt): its existence is the conversation's
 *   KEYS[2] list of message ids in append order
 *   KEYS[3] hash of message fields, `<messageId>:role|status|createdAt|content|sources|tokens|meta`
 *   KEYS[4] hash of ratings, `<messageId>` -> up|down
 *   KEYS[5] sorted set of conversation ids by last activity, for `deleteIdleSince`
 * Keys 1-4 expire after the retention; every write refreshes them ("activity").
 * Creating and deleting a conversation (and a turn, which may create one) take a sixth, the
 * sorted set of conversation ids by creation time that the support inbox lists from (see
 * redis-inbox.ts).
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
 * Appends one message: `id, role, status, content, sources, tokens, page` (the last three empty
 * for none). The conversation keeps the first page it is given.
 */
const APPEND = `
local function append(id, role, status, content, sources, tokens, page, now)
  redis.call('RPUSH', KEYS[2], id)
  redis.call('HSET', KEYS[3], id .. ':role', role, id .. ':status', status, id .. ':createdAt', now, id .. ':content', content)
  if sources ~= nil and sources ~= '' then redis.call('HSET', KEYS[3], id .. ':sources', sources) end
  if tokens ~= nil and tokens ~= '' then redis.call('HSET', KEYS[3], id .. ':tokens', tokens) end
  if page ~= nil and page ~= '' then redis.call('HSETNX', KEYS[1], 'page', page) end
end
`;

/** Removes a message's fields, its place in the order and its rating. */
const REMOVE = `
local function remove(id)
  redis.call('LREM', KEYS[2], 0, id)
  redis.call('HDEL', KEYS[3], id .. ':role', id .. ':status', id .. ':createdAt', id .. ':content', id .. ':sources', id .. ':tokens', id .. ':meta')
  redis.call('HDEL', KEYS[4], id)
end
`;

/**
 * ARGV: conversationId, messageId, role, status, content, now, ttlMs, page (or empty), sources (a
 * JSON array, or empty for none), tokens (or empty). Answers 0 when no conversation.
 */
export const APPEND_MESSAGE = `${TOUCH}${APPEND}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
append(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[9], ARGV[10], ARGV[8], ARGV[6])
touch(ARGV[1], ARGV[6], ARGV[7])
return 1
`;

/**
 * The start of a chat turn in one step. KEYS[6]: the creation-time index. ARGV: conversationId,
 * new ('1' creates it, else it must exist), now, ttlMs, the id of a reply to replace (or empty),
 * then the question as seven values (id, role, status, content, sources, tokens, page; all empty
 * for none), then the reply as seven, then pairs of (messageId, tokens): counts for earlier
 * complete messages that have none. Answers 0, having written nothing, when the conversation
 * does not exist.
 */
export const APPEND_TURN = `${TOUCH}${APPEND}${REMOVE}
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'createdAt', ARGV[3])
  redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[5] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[5] .. ':role') == 1 then remove(ARGV[5]) end
if ARGV[6] ~= '' then append(ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[3]) end
append(ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17], ARGV[18], ARGV[19], ARGV[3])
for i = 20, #ARGV - 1, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[3], id .. ':status') == 'complete' and redis.call('HEXISTS', KEYS[3], id .. ':tokens') == 0 then
    redis.call('HSET', KEYS[3], id .. ':tokens', ARGV[i + 1])
  end
end
touch(ARGV[1], ARGV[3], ARGV[4])
return 1
`;

/**
 * ARGV: conversationId, messageId, status, content, now, ttlMs, meta (a finished reply's metadata
 * as JSON, or empty while it streams), tokens (empty: not known, and a count kept before is
 * dropped). Answers 0 when no such message.
 */
export const UPDATE_MESSAGE = `${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local id = ARGV[2]
if redis.call('HEXISTS', KEYS[3], id .. ':role') == 0 then return 0 end
redis.call('HSET', KEYS[3], id .. ':status', ARGV[3], id .. ':content', ARGV[4])
if ARGV[7] and ARGV[7] ~= '' then redis.call('HSET', KEYS[3], id .. ':meta', ARGV[7]) end
if ARGV[8] ~= nil and ARGV[8] ~= '' then
  redis.call('HSET', KEYS[3], id .. ':tokens', ARGV[8])
else
  redis.call('HDEL', KEYS[3], id .. ':tokens')
end
touch(ARGV[1], ARGV[5], ARGV[6])
return 1
`;

/** ARGV: conversationId, messageId, now, ttlMs. Removes the message and its rating; 0 when no such message. */
export const DELETE_MESSAGE = `${TOUCH}${REMOVE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local id = ARGV[2]
if redis.call('HEXISTS', KEYS[3], id .. ':role') == 0 then return 0 end
remove(id)
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
