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
 * @since 0.1.0
 * @category internal
 */
export interface ScriptDefinition {
  readonly numberOfKeys?: number
  readonly lua: string
}

/**
 * SET of many keys in one atomic step; ARGV: deadline, ttl ("" for none), then one value per key.
 * One reply instead of one per key is what makes this faster than a pipeline of SET PX.
 *
 * Inside, every `redis.call` has a fixed cost (about 1.2 µs here), so one MSET replaces a SET per key, and
 * the ttl becomes one absolute PEXPIREAT instant, formatted once: PEXPIRE costs more, because Redis rewrites
 * each one into a PEXPIREAT for replication. Together about 25% less Redis time than a SET PX per key.
 * MSET clears any previous ttl, as SET does. Past 2^52 ms, `now + ttl` would no longer be an exact double,
 * so those (285,000-year) ttls take the PEXPIRE path.
 * @since 0.1.0
 * @category internal
 */
export const setMany: ScriptDefinition = {
  lua: `${guard}
local kv = {}
for i = 1, #KEYS do
  kv[2 * i - 1] = KEYS[i]
  kv[2 * i] = ARGV[i + 2]
end
redis.call('MSET', unpack(kv))
local ttl = tonumber(ARGV[2])
if ttl == nil then return #KEYS end
if ttl < 4503599627370496 then
  local at = string.format('%.0f', now + ttl)
  for i = 1, #KEYS do redis.call('PEXPIREAT', KEYS[i], at) end
else
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return #KEYS`,
}

/**
 * Many single-key writes from concurrent callers in one script call: one deadline check for the whole batch,
 * then each operation in call order, each with a result of its own. KEYS: one key per operation. ARGV: the
 * deadline, then per operation its code and arguments:
 *
 * - `s value ttl`: SET [PX ttl] ("" for none); 1.
 * - `d`: DEL; 0 or 1.
 * - `e ttl`: PEXPIRE, or PERSIST when ttl is "persist"; 1 if the key exists.
 * - `i amount ttl`: INCRBY with the expiry set when it creates the key, refused (and undone) when the result
 *   is not a safe integer; the new value.
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
  lua: `${guard}
local out = {}
local a = 2
for i = 1, #KEYS do
  local k = KEYS[i]
  local op = ARGV[a]
  if op == 's' then
    local r
    if ARGV[a + 2] == '' then r = redis.pcall('SET', k, ARGV[a + 1])
    else r = redis.pcall('SET', k, ARGV[a + 1], 'PX', ARGV[a + 2]) end
    if r.err then out[i] = r else out[i] = 1 end
    a = a + 3
  elseif op == 'd' then
    out[i] = redis.pcall('DEL', k)
    a = a + 1
  elseif op == 'e' then
    if ARGV[a + 1] == 'persist' then
      if redis.call('EXISTS', k) == 0 then out[i] = 0 else redis.pcall('PERSIST', k); out[i] = 1 end
    else
      out[i] = redis.pcall('PEXPIRE', k, ARGV[a + 1])
    end
    a = a + 2
  elseif op == 'i' then
    local created = redis.call('EXISTS', k) == 0
    local v = redis.pcall('INCRBY', k, ARGV[a + 1])
    if type(v) == 'table' then
      out[i] = v
    elseif v > 9007199254740991 or v < -9007199254740991 then
      redis.call('DECRBY', k, ARGV[a + 1])
      out[i] = redis.error_reply('ERR result is outside the safe integer range; nothing was changed')
    else
      if created and ARGV[a + 2] ~= '' then redis.call('PEXPIRE', k, ARGV[a + 2]) end
      out[i] = v
    end
    a = a + 3
  else
    return redis.error_reply('ERR unknown batch operation ' .. tostring(op))
  end
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
 * none), value. Returns 1 if it wrote, 0 if the key exists.
 *
 * @since 0.2.0
 * @category internal
 */
export const setIfAbsent: ScriptDefinition = {
  lua: `${guard}
local r
if ARGV[2] == '' then r = redis.call('SET', KEYS[1], ARGV[3], 'NX')
else r = redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[2]) end
if r then return 1 end
return 0`,
}

/**
 * Compare-and-delete: DEL the key only if its value equals ARGV[2], in one atomic step, behind the deadline
 * guard. KEYS: the key. ARGV: deadline, expected value. Returns 1 if it deleted. `allow-oom`: it only
 * deletes.
 *
 * @since 0.2.0
 * @category internal
 */
export const deleteIfEquals: ScriptDefinition = {
  lua: `${ALLOW_OOM}${guard}
if redis.call('GET', KEYS[1]) == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0`,
}

/**
 * The local tier's read: the values of KEYS (as MGET) followed by their PTTLs, in one reply. Read-only
 * (`no-writes`), so it also runs at OOM. Keys read inside a script are tracked by `CLIENT TRACKING` like keys
 * a GET reads (Redis 7.0+). At most ~7,000 keys (`unpack`).
 *
 * @since 0.2.0
 * @category internal
 */
export const readWithTtl: ScriptDefinition = {
  lua: `#!lua flags=no-writes
local n = #KEYS
local out = redis.call('MGET', unpack(KEYS))
for i = 1, n do out[n + i] = redis.call('PTTL', KEYS[i]) end
return out`,
}
