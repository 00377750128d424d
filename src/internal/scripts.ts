/**
 * The Lua scripts behind every Redis write. Each starts with a deadline check against the server's own clock:
 * a write that reaches Redis after the client has already reported it as a `Timeout` (the server was hung,
 * the bytes sat in its socket buffer) is refused instead of executed late. Reads need no guard.
 *
 * ARGV[1] is always the deadline in server epoch milliseconds.
 *
 * Memory full (`maxmemory` with `noeviction`): Redis decides per script whether it may run. A script with a
 * shebang (`#!lua flags=…`) is refused up front unless it declares `allow-oom`; a script without one runs, and
 * only a command in it that may grow memory (SET, MSET, INCRBY) is refused. The scripts that only remove data
 * (flushDb, scanUnlink) declare `allow-oom`, so the operations that free memory keep working when it is full;
 * the ones that add data (setMany) must not, and fail with Redis's `OOM command not allowed …`. The write
 * batch has no shebang, so its deletes and expiries run at OOM while its SETs and INCRBYs are refused one by
 * one. Shebang flags need Redis 7.0 or later.
 */

/** The shebang of the scripts that may run while Redis is out of memory: they only delete. */
const ALLOW_OOM = "#!lua flags=allow-oom"

/**
 * The reply prefix a late write is refused with; mapped to reason `Timeout`.
 *
 * @since 0.1.0
 * @category internal
 */
export const DEADLINE_ERROR = "DEADLINE"

const guard = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then
  return redis.error_reply('${DEADLINE_ERROR} the command reached Redis after its deadline and was not executed')
end
`

/**
 * `expireKeys(first, last, ttl)`: gives KEYS[first..last] the ttl (ms, as text) from `now`, the guard's clock
 * reading. One absolute PEXPIREAT instant, formatted once: PEXPIRE costs more, because Redis rewrites each one
 * into a PEXPIREAT for replication. Past 2^52 ms, `now + ttl` would no longer be an exact double, so those
 * (285,000-year) ttls take the PEXPIRE path. Follows `guard`, whose `now` it reads.
 */
const expireKeys = `
local function expireKeys(first, last, ttl)
  local ms = tonumber(ttl)
  if ms < 4503599627370496 then
    local at = string.format('%.0f', now + ms)
    for j = first, last do redis.call('PEXPIREAT', KEYS[j], at) end
  else
    for j = first, last do redis.call('PEXPIRE', KEYS[j], ttl) end
  end
end
`

/**
 * @since 0.1.0
 * @category internal
 */
export interface ScriptDefinition {
  readonly numberOfKeys?: number
  readonly lua: string
}

/**
 * SET of many keys in one atomic step; ARGV: deadline, ttl ("" for none), one value per key, then the tag
 * base and tags-in-use marker of the keys (tagScripts below): where tags are in use (the marker exists, see
 * `writeBatch`), an
 * untagged write removes the keys' tag records, so they leave their tags (one DEL of them all, about 0.1 µs
 * per key).
 * One reply instead of one per key is what makes this faster than a pipeline of SET PX.
 *
 * Inside, every `redis.call` has a fixed cost (about 1.2 µs here), so one MSET replaces a SET per key, and
 * the ttl is set by `expireKeys`. Together about 25% less Redis time than a SET PX per key. MSET clears any
 * previous ttl, as SET does.
 * @since 0.1.0
 * @category internal
 */
export const setMany: ScriptDefinition = {
  lua: `${guard}${expireKeys}
local kv = {}
for i = 1, #KEYS do
  kv[2 * i - 1] = KEYS[i]
  kv[2 * i] = ARGV[i + 2]
end
redis.call('MSET', unpack(kv))
local base = ARGV[#KEYS + 3]
if redis.call('EXISTS', ARGV[#KEYS + 4]) == 1 then
  local records = {}
  for i = 1, #KEYS do records[i] = base .. 'k:' .. KEYS[i] end
  redis.call('DEL', unpack(records))
end
if ARGV[2] ~= '' then expireKeys(1, #KEYS, ARGV[2]) end
return #KEYS`,
}

/**
 * Many single-key writes from concurrent callers in one script call: one deadline check for the whole batch,
 * then each operation in call order, each with a result of its own. KEYS: one key per operation. ARGV: the
 * deadline, the batch's tag base and tags-in-use marker (every key of a batch is in one slot, so they share
 * them), then per operation its code and arguments:
 *
 * - `m count value…`: a run of `count` consecutive SETs without a ttl, one value per key (the run's keys
 *   are the next `count` of KEYS); `M count ttl value…`: the same with one ttl, SET PX; 1 for each. The
 *   batcher (WriteBatcher.ts) sends every run of SETs that way, a lone SET as a run of one. A run is one MSET
 *   and then one PEXPIREAT per key, as in `setMany`. Measured on 128-write batches of 100-byte values
 *   (medians of 14 alternating rounds): 16 % less Redis time than a SET PX per key, and 28 % less than a SET
 *   per key without a ttl; a SET per key pays the fixed cost of a `redis.call` and a reply table in Lua for
 *   every key. The run states its code and ttl once, not once per write, so a SET of a run costs one
 *   argument (its value) besides its key, where it cost three. The result is the same: a later write of a
 *   key in the run wins, MSET clears a previous ttl as SET does, and at `maxmemory` the run is refused as its
 *   SETs would be, each caller with the error.
 * - `d`: DEL; 0 or 1.
 * - `e ttl`: PEXPIRE, or PERSIST when ttl is "persist"; 1 if the key exists.
 * - `i count amount`: a run of `count` INCRBYs of one amount (the next `count` of KEYS); `I count amount
 *   ttl`: the same, each with the expiry set when it creates the key. Each is refused (and undone) when its
 *   result is not a safe integer; the new value. As for SETs, the run states its amount and ttl once: an
 *   increment in a run costs no argument besides its key, where it cost two or three.
 *
 * A ttl is its own code, not an empty argument: each argument costs Redis about 0.3 µs to parse and hand to
 * Lua (measured: 0.8 µs against 1.0-1.2 µs per operation of two and three arguments), a tenth of what an
 * increment costs it in a batch.
 *
 * Tag bookkeeping (see `taggedSet`) is only done where tags are in use: when the slot's marker (set by every
 * tagged write) exists. Then SET and DEL remove the key's tag record (an
 * untagged write leaves the key's tags), INCRBY that creates the key removes a stale one, and an expiry
 * change is applied to the record too and raises the expiry of the key's tag indexes to cover it. Without
 * the marker there are no records to keep, and a SET costs no command of its own for them (a run's records
 * are one DEL). The record, the indexes and the marker are not declared in KEYS; they are in the key's slot
 * by construction.
 *
 * An operation Redis refuses (WRONGTYPE, not an integer, OOM) is an error element of the reply, not a failure
 * of the batch: `redis.pcall`. No shebang, so that at `maxmemory` the deletes of a batch still run while its
 * writes are refused one by one (a script with flags is refused whole unless it allows OOM, and allowing OOM
 * would let its writes through).
 *
 * @since 0.2.0
 * @category internal
 */
export const writeBatch: ScriptDefinition = {
  lua: `${guard}${expireKeys}
local out = {}
local b, marker = ARGV[2], ARGV[3]
local tagged = redis.call('EXISTS', marker) == 1
local a = 4
local n = #KEYS
local i = 1
while i <= n do
  local k = KEYS[i]
  local op = ARGV[a]
  if op == 'm' or op == 'M' then
    -- A run of SETs with one ttl (or none): one MSET, then one absolute expiry per key (see setMany).
    local last = i + tonumber(ARGV[a + 1]) - 1
    local ttl = nil
    a = a + 2
    if op == 'M' then
      ttl = ARGV[a]
      a = a + 1
    end
    local kv = {}
    for j = i, last do
      kv[#kv + 1] = KEYS[j]
      kv[#kv + 1] = ARGV[a]
      a = a + 1
    end
    local r = redis.pcall('MSET', unpack(kv))
    if r.err then
      for j = i, last do out[j] = r end
    else
      for j = i, last do out[j] = 1 end
      if tagged then
        local records = {}
        for j = i, last do records[#records + 1] = b .. 'k:' .. KEYS[j] end
        redis.call('DEL', unpack(records))
      end
      if ttl ~= nil then expireKeys(i, last, ttl) end
    end
    i = last
  elseif op == 'd' then
    out[i] = redis.pcall('DEL', k)
    if tagged then redis.call('DEL', b .. 'k:' .. k) end
    a = a + 1
  elseif op == 'e' then
    local rec = b .. 'k:' .. k
    if ARGV[a + 1] == 'persist' then
      if redis.call('EXISTS', k) == 0 then out[i] = 0 else
        redis.pcall('PERSIST', k)
        out[i] = 1
        if tagged then
          for _, tag in ipairs(redis.call('SMEMBERS', rec)) do redis.call('PERSIST', b .. 't:' .. tag) end
          if redis.call('PERSIST', rec) == 1 then redis.call('PERSIST', marker) end
        end
      end
    else
      out[i] = redis.pcall('PEXPIRE', k, ARGV[a + 1])
      if out[i] == 1 and tagged then
        local ms = tonumber(ARGV[a + 1])
        if ms <= 0 then redis.call('DEL', rec) else
          for _, tag in ipairs(redis.call('SMEMBERS', rec)) do
            local idx = b .. 't:' .. tag
            local left = redis.call('PTTL', idx)
            if left >= 0 and left < ms then redis.call('PEXPIRE', idx, ms) end
          end
          if redis.call('PEXPIRE', rec, ms) == 1 then
            local left = redis.call('PTTL', marker)
            if left >= 0 and left < ms then redis.call('PEXPIRE', marker, ms) end
          end
        end
      end
    end
    a = a + 2
  elseif op == 'i' or op == 'I' then
    local last = i + tonumber(ARGV[a + 1]) - 1
    local amount = ARGV[a + 2]
    local ttl = op == 'I' and ARGV[a + 3] or nil
    a = a + (ttl == nil and 3 or 4)
    for j = i, last do
      local key = KEYS[j]
      -- Whether INCRBY creates the key matters only for a ttl to set or a stale tag record to remove. Found
      -- out by creating it (SET 0 NX, with the ttl), not by EXISTS: with CLIENT TRACKING on the connection,
      -- every read-only command a script runs records all the script's keys (n² for a batch of n).
      local created = false
      if ttl ~= nil or tagged then
        local r
        if ttl == nil then r = redis.pcall('SET', key, '0', 'NX')
        else r = redis.pcall('SET', key, '0', 'NX', 'PX', ttl) end
        created = type(r) == 'table' and r.ok ~= nil
      end
      local v = redis.pcall('INCRBY', key, amount)
      if type(v) == 'table' then
        out[j] = v
      elseif v > 9007199254740991 or v < -9007199254740991 then
        redis.call('DECRBY', key, amount)
        out[j] = redis.error_reply('ERR result is outside the safe integer range; nothing was changed')
      else
        if created and tagged then redis.call('DEL', b .. 'k:' .. key) end
        out[j] = v
      end
    end
    i = last
  else
    return redis.error_reply('ERR unknown batch operation ' .. tostring(op))
  end
  i = i + 1
end
return out`,
}

/**
 * FLUSHDB ASYNC (the keyspace is emptied at once; memory is freed in the background); ARGV: deadline.
 *
 * @since 0.1.0
 * @category internal
 */
export const flushDb: ScriptDefinition = {
  numberOfKeys: 0,
  lua: `${ALLOW_OOM}${guard}\nreturn redis.call('FLUSHDB', 'ASYNC')`,
}

/**
 * SCAN pages of this node, counting the keys that match, inside Redis: the keys never travel to the client.
 * A read, so no deadline guard. One call keeps going until it has run for `budget` ms or the scan is
 * complete. ARGV: cursor, pattern, count per page, budget ms. Returns {next cursor, number matched}.
 * @since 0.1.0
 * @category internal
 */
export const scanCount: ScriptDefinition = {
  lua: `#!lua flags=no-writes
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local stop = clock() + tonumber(ARGV[4])
local cursor = ARGV[1]
local n = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', ARGV[3])
  cursor = page[1]
  n = n + #page[2]
until cursor == '0' or clock() >= stop
return {cursor, n}`,
}

/**
 * SCAN pages and the UNLINK of their matches, inside Redis: the keys never travel to the client and back.
 * One call keeps going page after page until it has run for `budget` ms (so Redis is never blocked for
 * longer than about that) or the scan is complete. ARGV: deadline, cursor, pattern, count per page, mode,
 * budget ms. Returns {next cursor, number unlinked}. The keys are this node's (SCAN is per node), possibly of
 * several hash slots, hence the cluster flag; in a cluster one UNLINK may still not name keys of two slots,
 * so mode "each" unlinks them one by one. `allow-oom`: deleting is how a full Redis gets memory back.
 *
 * @since 0.1.0
 * @category internal
 */
export const scanUnlink: ScriptDefinition = {
  lua: `#!lua flags=allow-cross-slot-keys,allow-oom
${guard}
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local stop = clock() + tonumber(ARGV[6])
local cursor = ARGV[2]
local n = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[3], 'COUNT', ARGV[4])
  cursor = page[1]
  local keys = page[2]
  if ARGV[5] == 'each' then
    for i = 1, #keys do n = n + redis.call('UNLINK', keys[i]) end
  else
    for i = 1, #keys, 1000 do
      n = n + redis.call('UNLINK', unpack(keys, i, math.min(i + 999, #keys)))
    end
  end
until cursor == '0' or clock() >= stop
return {cursor, n}`,
}

/**
 * SET NX [PX ttl] behind the deadline guard (a lease taken late, after the caller saw `Timeout` and went on
 * without it, would block other callers for a whole lease). KEYS: the key. ARGV: deadline, ttl ("" for
 * none), value, tag base (a write removes a stale tag record). Returns 1 if it wrote, 0 if the key exists.
 *
 * @since 0.2.0
 * @category internal
 */
export const setIfAbsent: ScriptDefinition = {
  lua: `${guard}
local r
if ARGV[2] == '' then r = redis.call('SET', KEYS[1], ARGV[3], 'NX')
else r = redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[2]) end
if r then
  redis.call('DEL', ARGV[4] .. 'k:' .. KEYS[1])
  return 1
end
return 0`,
}

/**
 * Compare-and-delete: DEL the key only if its value equals ARGV[2], in one atomic step, behind the deadline
 * guard. KEYS: the key. ARGV: deadline, expected value, tag base (the key's tag record goes with it).
 * Returns 1 if it deleted. `allow-oom`: it only deletes.
 *
 * @since 0.2.0
 * @category internal
 */
export const deleteIfEquals: ScriptDefinition = {
  lua: `${ALLOW_OOM}${guard}
if redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('DEL', ARGV[3] .. 'k:' .. KEYS[1])
  return redis.call('DEL', KEYS[1])
end
return 0`,
}

/**
 * A tagged write, in one atomic step: SET [PX ttl], the key's tag record (a set of its tags, with the key's
 * ttl), and the key in the index set of each of its tags. KEYS: the key, its record, then one index per tag
 * (in the order of the tags in ARGV). ARGV: deadline, ttl ("" for none), value, tag base, marker, then the
 * tags.
 *
 * The tag base (`<prefix>__tags__:{<slot token>}`) puts the record and the indexes in the key's hash slot:
 * record `base .. 'k:' .. key`, index `base .. 't:' .. tag`, and the marker (`<prefix>__tags__:u{<slot token>}`,
 * in the slot too) that tells untagged writes of the slot that tag records may exist (see `writeBatch`). The marker's expiry, like an index's, is
 * raised to cover every record's, so it goes when the last record of its slot goes. Tags the key had and no longer has are removed
 * from their indexes (undeclared keys, of this slot). An index's expiry is raised to cover the key's (none
 * when the key has none): an index lives as long as its longest-lived member, then costs nothing. Each
 * index also drops up to two random members that no longer carry the tag (gone, overwritten): a bounded
 * sweep, so indexes of long-lived tags do not fill with dead members.
 *
 * @since 0.2.0
 * @category internal
 */
export const taggedSet: ScriptDefinition = {
  lua: `${guard}
local key, rec, base = KEYS[1], KEYS[2], ARGV[4]
local ttl = ARGV[2]
if ttl == '' then redis.call('SET', key, ARGV[3]) else redis.call('SET', key, ARGV[3], 'PX', ttl) end
local tagged = {}
for i = 6, #ARGV do tagged[ARGV[i]] = true end
for _, old in ipairs(redis.call('SMEMBERS', rec)) do
  if not tagged[old] then redis.call('SREM', base .. 't:' .. old, key) end
end
redis.call('DEL', rec)
redis.call('SADD', rec, unpack(ARGV, 6))
if ttl ~= '' then redis.call('PEXPIRE', rec, ttl) end
local ms = tonumber(ttl)
-- Raises the expiry of a key just written (its PTTL before the write: -2 if it did not exist) to cover ttl.
local function cover(k, before)
  if ms == nil then
    if before >= 0 then redis.call('PERSIST', k) end
  elseif before == -2 or (before >= 0 and before < ms) then
    redis.call('PEXPIRE', k, ttl)
  end
end
local marker = ARGV[5]
local left = redis.call('PTTL', marker)
redis.call('SET', marker, '1', 'KEEPTTL')
cover(marker, left)
for i = 3, #KEYS do
  local idx, tag = KEYS[i], ARGV[i + 3]
  local before = redis.call('PTTL', idx)
  redis.call('SADD', idx, key)
  cover(idx, before)
  for _, m in ipairs(redis.call('SRANDMEMBER', idx, 2)) do
    if m ~= key and (redis.call('EXISTS', m) == 0 or redis.call('SISMEMBER', base .. 'k:' .. m, tag) == 0) then
      redis.call('SREM', idx, m)
    end
  end
end
return 1`,
}

/**
 * Registers a hash slot in a tag's slot registry (Redis Cluster): a set of the slots that may hold an index
 * of the tag, in the tag's own slot, written before the tagged write it announces. Its expiry is raised to
 * cover the write's (ARGV ttl already includes a margin; "" for none). KEYS: the registry. ARGV: deadline,
 * slot, ttl.
 *
 * @since 0.2.0
 * @category internal
 */
export const registerTagSlot: ScriptDefinition = {
  lua: `${guard}
local before = redis.call('PTTL', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[2])
local ms = tonumber(ARGV[3])
if ms == nil then
  if before >= 0 then redis.call('PERSIST', KEYS[1]) end
elseif before == -2 or (before >= 0 and before < ms) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1`,
}

/**
 * Invalidation of one tag index: pops up to ARGV[4] members and deletes those whose tag record still lists
 * the tag (UNLINK of the key and its record); a member that left the tag (rewritten without it, expired) is
 * only dropped. KEYS: the index. ARGV: deadline, tag base, tag, members per call. Returns {keys deleted,
 * members left}. Popping in bounded steps keeps Redis responsive for a tag of a million keys. `allow-oom`:
 * it only deletes.
 *
 * @since 0.2.0
 * @category internal
 */
export const invalidateTagIndex: ScriptDefinition = {
  lua: `${ALLOW_OOM}${guard}
local n = 0
local members = redis.call('SPOP', KEYS[1], ARGV[4])
for _, m in ipairs(members) do
  local rec = ARGV[2] .. 'k:' .. m
  if redis.call('SISMEMBER', rec, ARGV[3]) == 1 then
    n = n + redis.call('UNLINK', m)
    redis.call('UNLINK', rec)
  end
end
return {n, redis.call('SCARD', KEYS[1])}`,
}
