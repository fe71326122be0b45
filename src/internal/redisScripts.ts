/**
 * The Lua scripts of the Redis-backed breaker and the decoding of what Redis sends back.
 *
 * Every decision about the shared state is one script, so it is atomic: a trip decided from the aggregate of many
 * processes' outcomes, a compare-and-set of a process's own transition, the grant of a HalfOpen trial lease, the
 * report of a trial's outcome. Times come from Redis `TIME`, and what a script returns is relative (the milliseconds
 * left of an opening), so the processes' clocks never need to agree.
 *
 * Layout of one circuit (`<prefix><domain>:circuit:<id>`), a hash:
 * - `state` Closed | Open | HalfOpen; `epoch`, a decimal integer string that every shared transition raises to at
 *   least Redis' time in microseconds, so epochs keep growing across a Redis restart that lost the data; `"0"` marks a
 *   circuit that only holds counts (never transitioned since Redis last lost it);
 * - `openUntil` (Redis millis; 0 when forced or not Open), `openings`, `forced` 0|1, `reason` of the last transition;
 * - the Closed-era aggregate: `streak` (consecutive failures), `calls`, `failures`, `slow` (the rate window) and, for
 *   time windows, `bucketStart`, `prevCalls`, `prevFailures`, `prevSlow`; HalfOpen: `trialSuccesses`.
 * Trial leases are a sorted set (`<prefix><domain>:trials:<id>`, member = lease token, score = expiry in Redis millis).
 * Two sorted sets index the circuits, member = id, score = when the circuit's hash expires (Redis millis, `+inf` when
 * forced): `<prefix><domain>:index` every circuit, `<prefix><domain>:active` the circuits not Closed (read by a process
 * that starts). Every write of a hash writes its index entries in the same script; entries whose hash expired are
 * pruned in bounded steps (`pruneScript`).
 *
 * Stored data that is not a circuit the scripts wrote (another type at the key, an unknown state, a non-numeric field)
 * is never trusted: the scripts answer `corrupt` and change nothing, except a process's own transition (a trip or a
 * manual operation), which replaces it.
 */
import { Option, Schema } from "effect"
import { Redis } from "effect/persistence"
import type { State, TransitionReason } from "../CircuitBreaker.ts"

/** The keys a script about one circuit touches. @internal */
export interface Keys {
  /** Every circuit of the domain. */
  readonly index: string
  /** The circuits of the domain that are not Closed. */
  readonly active: string
  readonly key: string
  readonly trials: string
}

const prelude = `
local time = redis.call("TIME")
local nowMicros = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(nowMicros / 1000)
local function int(n) return string.format("%.0f", n) end
local states = { Closed = true, Open = true, HalfOpen = true }
local counters = { "streak", "calls", "failures", "slow", "bucketStart", "prevCalls", "prevFailures", "prevSlow",
  "trialSuccesses" }

local function fresh()
  local c = { state = "Closed", epoch = "0", openUntil = 0, openings = 0, forced = "0", reason = "" }
  for _, name in ipairs(counters) do c[name] = 0 end
  c.bucketStart = now
  return c
end

-- The circuit at key: nil when absent, false when the key holds anything the scripts did not write.
local function load(key)
  local kind = redis.call("TYPE", key)["ok"]
  if kind == "none" then return nil end
  if kind ~= "hash" then return false end
  local f = redis.call("HMGET", key, "state", "epoch", "openUntil", "openings", "forced", "reason", unpack(counters))
  local c = { state = f[1], epoch = f[2], openUntil = tonumber(f[3]), openings = tonumber(f[4]), forced = f[5],
    reason = f[6] or "" }
  if not states[c.state] or type(c.epoch) ~= "string" or not string.match(c.epoch, "^%d+$") or c.openUntil == nil
    or c.openings == nil or (c.forced ~= "0" and c.forced ~= "1") then
    return false
  end
  for i, name in ipairs(counters) do
    local raw = f[6 + i]
    if raw == false then
      c[name] = 0
    else
      c[name] = tonumber(raw)
      if c[name] == nil or c[name] ~= c[name] then return false end
    end
  end
  return c
end

local function snapshot(status, c)
  if c == nil then c = fresh() end
  local remaining = 0
  if c.state == "Open" and c.forced == "0" then remaining = math.max(0, c.openUntil - now) end
  return { status, c.state, c.epoch, int(remaining), int(c.openings), tonumber(c.forced), c.reason }
end

-- When the circuit's hash expires: never when forced, an opening's end plus idle when Open, idle from now otherwise.
local function expiry(c, idle)
  if c.forced == "1" then return "+inf" end
  if c.state == "Open" then return int(math.max(now, c.openUntil) + idle) end
  return int(now + idle)
end

-- Writes the circuit, its time to live and its entry in the index. k: id, key, trials, idle, channel, index, active.
local function save(c, k)
  local key, idle = k.key, k.idle
  redis.call("HSET", key, "state", c.state, "epoch", c.epoch, "openUntil", int(c.openUntil),
    "openings", int(c.openings), "forced", c.forced, "reason", c.reason, "streak", int(c.streak),
    "calls", tostring(c.calls), "failures", tostring(c.failures), "slow", tostring(c.slow),
    "bucketStart", int(c.bucketStart), "prevCalls", tostring(c.prevCalls), "prevFailures", tostring(c.prevFailures),
    "prevSlow", tostring(c.prevSlow), "trialSuccesses", int(c.trialSuccesses))
  if c.forced == "1" then
    redis.call("PERSIST", key)
  elseif c.state == "Open" then
    redis.call("PEXPIRE", key, int(math.max(0, c.openUntil - now) + idle))
  else
    redis.call("PEXPIRE", key, int(idle))
  end
  redis.call("ZADD", k.index, expiry(c, idle), k.id)
end

-- A shared transition: a new epoch, cleared counts and leases, stored, indexed and announced.
local function move(c, to, reason, openMillis, openings, forced, k)
  c.epoch = int(math.max((tonumber(c.epoch) or 0) + 1, nowMicros))
  c.state = to
  c.reason = reason
  c.openings = openings
  c.forced = forced
  c.openUntil = 0
  if to == "Open" and forced == "0" then c.openUntil = now + openMillis end
  for _, name in ipairs(counters) do c[name] = 0 end
  c.bucketStart = now
  redis.call("DEL", k.trials)
  save(c, k)
  if to == "Closed" then
    redis.call("ZREM", k.active, k.id)
  else
    redis.call("ZADD", k.active, expiry(c, k.idle), k.id)
  end
  local s = snapshot("applied", c)
  redis.call("PUBLISH", k.channel, cjson.encode({ id = k.id, state = s[2], epoch = s[3], remaining = tonumber(s[4]),
    openings = tonumber(s[5]), forced = s[6], reason = s[7] }))
  return s
end
`

/**
 * Adds each process's batch of Closed-era outcomes to the shared aggregate and trips the circuits whose aggregate
 * crosses a threshold. KEYS: the index, the active index, then `key, trials` per circuit. ARGV: channel, idle millis,
 * the policy, then nine values per circuit; the flusher sends at most `FLUSH_BATCH` circuits per call. A batch
 * counts only in the Closed era it was recorded in (its epoch, or `"0"` when Redis lost the data); otherwise the
 * circuit's snapshot is returned as `stale` for the process to adopt.
 *
 * The streak across processes: a batch that saw a success sets it to the failures after its last success, a batch
 * of failures only adds to it. Count windows decay proportionally once full; time windows are a sliding estimate over
 * two buckets of the window's length.
 */
export const flushScript = Redis.script(
  (
    index: string,
    active: string,
    keys: ReadonlyArray<string>,
    channel: string,
    idleMillis: number,
    policy: ReadonlyArray<number>,
    batches: ReadonlyArray<string | number>
  ) => [index, active, ...keys, channel, idleMillis, ...policy, ...batches],
  {
    numberOfKeys: (_index, _active, keys) => 2 + keys.length,
    lua: `${prelude}
local channel = ARGV[1]
local idle = tonumber(ARGV[2])
local failureThreshold = tonumber(ARGV[3])
local rateThreshold = tonumber(ARGV[4])
local rateMinimum = tonumber(ARGV[5])
local slowThreshold = tonumber(ARGV[6])
local slowMinimum = tonumber(ARGV[7])
local windowKind = tonumber(ARGV[8])
local windowSize = tonumber(ARGV[9])
local results = {}
local circuits = (#KEYS - 2) / 2
for i = 1, circuits do
  local key = KEYS[2 * i + 1]
  local a = 9 + (i - 1) * 9
  local id = ARGV[a + 1]
  local k = { id = id, key = key, trials = KEYS[2 * i + 2], idle = idle, channel = channel, index = KEYS[1],
    active = KEYS[2] }
  local expected = ARGV[a + 2]
  local successes = tonumber(ARGV[a + 3])
  local failures = tonumber(ARGV[a + 4])
  local slow = tonumber(ARGV[a + 5])
  local trailing = tonumber(ARGV[a + 6])
  local sawSuccess = ARGV[a + 7] == "1"
  local openMillis = tonumber(ARGV[a + 8])
  local openings = tonumber(ARGV[a + 9])
  local c = load(key)
  if c == false then
    results[i] = { "corrupt", "Closed", "0", "0", "0", 0, "" }
  else
    if c == nil then c = fresh() end
    if c.state ~= "Closed" or (c.epoch ~= expected and c.epoch ~= "0") then
      results[i] = snapshot("stale", c)
    else
      if sawSuccess then c.streak = trailing else c.streak = c.streak + failures end
      local calls, fails, slows
      if windowKind == 1 then
        c.calls = c.calls + successes + failures
        c.failures = c.failures + failures
        c.slow = c.slow + slow
        if c.calls > windowSize then
          local k = windowSize / c.calls
          c.failures = c.failures * k
          c.slow = c.slow * k
          c.calls = windowSize
        end
        calls, fails, slows = c.calls, c.failures, c.slow
      elseif windowKind == 2 then
        local elapsed = now - c.bucketStart
        if elapsed >= 2 * windowSize then
          c.prevCalls, c.prevFailures, c.prevSlow = 0, 0, 0
          c.calls, c.failures, c.slow = 0, 0, 0
          c.bucketStart = now
        elseif elapsed >= windowSize then
          c.prevCalls, c.prevFailures, c.prevSlow = c.calls, c.failures, c.slow
          c.calls, c.failures, c.slow = 0, 0, 0
          c.bucketStart = c.bucketStart + windowSize
        end
        c.calls = c.calls + successes + failures
        c.failures = c.failures + failures
        c.slow = c.slow + slow
        local weight = math.max(0, 1 - (now - c.bucketStart) / windowSize)
        calls = c.prevCalls * weight + c.calls
        fails = c.prevFailures * weight + c.failures
        slows = c.prevSlow * weight + c.slow
      end
      local trip = nil
      if c.streak >= failureThreshold then
        trip = "failureThreshold"
      elseif windowKind > 0 and rateThreshold > 0 and calls >= rateMinimum and fails / calls >= rateThreshold then
        trip = "failureRate"
      elseif windowKind > 0 and slowThreshold > 0 and calls >= slowMinimum and slows / calls >= slowThreshold then
        trip = "slowCallRate"
      end
      if trip then
        results[i] = move(c, "Open", trip, openMillis, openings, "0", k)
        results[i][1] = "tripped"
      else
        save(c, k)
        results[i] = snapshot("ok", c)
      end
    end
  end
end
return results
`
  }
).withReturnType<ReadonlyArray<unknown>>()

/**
 * A process's own transition (a local trip, a reopened hung trial, a manual open/close/reset), applied when the
 * shared circuit is still in the epoch the process last saw (or Redis lost it, or holds data the scripts did not
 * write, which it replaces); a manual one always applies.
 * KEYS: index, active, key, trials. ARGV: channel, idle, id, expected epoch, to, reason, open millis, openings, forced,
 * manual.
 */
export const transitionScript = Redis.script(
  (
    keys: Keys,
    args: {
      readonly channel: string
      readonly idleMillis: number
      readonly id: string
      readonly expectedEpoch: string
      readonly to: "Open" | "Closed"
      readonly reason: TransitionReason
      readonly openMillis: number
      readonly openings: number
      readonly forced: boolean
      readonly manual: boolean
    }
  ) => [
    keys.index,
    keys.active,
    keys.key,
    keys.trials,
    args.channel,
    args.idleMillis,
    args.id,
    args.expectedEpoch,
    args.to,
    args.reason,
    args.openMillis,
    args.openings,
    args.forced ? 1 : 0,
    args.manual ? 1 : 0
  ],
  {
    numberOfKeys: 4,
    lua: `${prelude}
local channel, idle, id, expected, to, reason = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local openMillis, openings, forced, manual = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10] == "1"
local k = { id = id, key = KEYS[3], trials = KEYS[4], idle = idle, channel = channel, index = KEYS[1], active = KEYS[2] }
local c = load(k.key)
-- Data the scripts did not write is never trusted, but a process's valid decision replaces it.
if c == false then
  redis.call("DEL", k.key)
  c = nil
end
if c == nil then c = fresh() end
if not manual and c.epoch ~= "0" and c.epoch ~= expected then
  return snapshot("stale", c)
end
return move(c, to, reason, openMillis, openings, forced, k)
`
  }
).withReturnType<unknown>()

/**
 * Grants a HalfOpen trial lease, moving an Open circuit whose opening is over to HalfOpen first. At most `maxCalls`
 * unexpired leases exist at once, across every process. A circuit Redis lost (absent, or epoch 0) while this process
 * had it open is seeded as HalfOpen. Returns `granted`, `busy`, `open` or `closed` with the snapshot.
 * KEYS: index, active, key, trials. ARGV: channel, idle, id, token, lease millis, max calls.
 */
export const acquireScript = Redis.script(
  (
    keys: Keys,
    channel: string,
    idleMillis: number,
    id: string,
    token: string,
    leaseMillis: number,
    maxCalls: number
  ) => [keys.index, keys.active, keys.key, keys.trials, channel, idleMillis, id, token, leaseMillis, maxCalls],
  {
    numberOfKeys: 4,
    lua: `${prelude}
local channel, idle, id, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local lease, maxCalls = tonumber(ARGV[5]), tonumber(ARGV[6])
local k = { id = id, key = KEYS[3], trials = KEYS[4], idle = idle, channel = channel, index = KEYS[1], active = KEYS[2] }
local c = load(k.key)
if c == false then return { "corrupt", "Closed", "0", "0", "0", 0, "" } end
if c == nil or c.epoch == "0" then
  local openings = 0
  if c then openings = c.openings end
  move(c or fresh(), "HalfOpen", "resetTimeout", 0, openings, "0", k)
  c = load(k.key)
elseif c.state == "Closed" then
  return snapshot("closed", c)
elseif c.state == "Open" then
  if c.forced == "1" or now < c.openUntil then return snapshot("open", c) end
  move(c, "HalfOpen", "resetTimeout", 0, c.openings, "0", k)
end
redis.call("ZREMRANGEBYSCORE", k.trials, "-inf", int(now))
if redis.call("ZCARD", k.trials) >= maxCalls then return snapshot("busy", c) end
redis.call("ZADD", k.trials, int(now + lease), token)
redis.call("PEXPIRE", k.trials, int(lease))
return snapshot("granted", c)
`
  }
).withReturnType<unknown>()

/**
 * Reports the outcome of a trial that held a lease: `release` frees it, `failure` reopens the circuit, `success`
 * counts toward `successThreshold` across every process and closes it there. A lease that expired or belongs to an
 * earlier epoch changes nothing (`stale`). KEYS: index, active, key, trials. ARGV: channel, idle, id, token, outcome,
 * success threshold, open millis, openings.
 */
export const trialScript = Redis.script(
  (
    keys: Keys,
    args: {
      readonly channel: string
      readonly idleMillis: number
      readonly id: string
      readonly token: string
      readonly outcome: "success" | "failure" | "release"
      readonly successThreshold: number
      readonly openMillis: number
      readonly openings: number
    }
  ) => [
    keys.index,
    keys.active,
    keys.key,
    keys.trials,
    args.channel,
    args.idleMillis,
    args.id,
    args.token,
    args.outcome,
    args.successThreshold,
    args.openMillis,
    args.openings
  ],
  {
    numberOfKeys: 4,
    lua: `${prelude}
local channel, idle, id, token, outcome = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local successThreshold, openMillis, openings = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local k = { id = id, key = KEYS[3], trials = KEYS[4], idle = idle, channel = channel, index = KEYS[1], active = KEYS[2] }
local c = load(k.key)
if c == false then return { "corrupt", "Closed", "0", "0", "0", 0, "" } end
local held = redis.call("ZREM", k.trials, token) == 1
if c == nil or not held or c.state ~= "HalfOpen" then return snapshot("stale", c) end
if outcome == "release" then return snapshot("ok", c) end
if outcome == "failure" then
  return move(c, "Open", "trialFailed", openMillis, openings, "0", k)
end
c.trialSuccesses = c.trialSuccesses + 1
if c.trialSuccesses >= successThreshold then
  return move(c, "Closed", "trialSucceeded", 0, c.openings, "0", k)
end
redis.call("HSET", k.key, "trialSuccesses", int(c.trialSuccesses))
return snapshot("ok", c)
`
  }
).withReturnType<unknown>()

/**
 * Removes, from each index given as a key, up to `limit` entries whose hash expired; returns how many it removed in
 * all. ARGV: limit.
 */
export const pruneScript = Redis.script((indexes: ReadonlyArray<string>, limit: number) => [...indexes, limit], {
  numberOfKeys: (indexes) => indexes.length,
  lua: `${prelude}
local limit = tonumber(ARGV[1])
local removed = 0
for i = 1, #KEYS do
  local ids = redis.call("ZRANGEBYSCORE", KEYS[i], "-inf", int(now), "LIMIT", 0, limit)
  if #ids > 0 then redis.call("ZREM", KEYS[i], unpack(ids)) end
  removed = removed + #ids
end
return removed
`
}).withReturnType<number>()

/** Reads circuits without changing them: `ok`, or `corrupt` for data the scripts did not write. KEYS: the circuits. */
export const readScript = Redis.script((keys: ReadonlyArray<string>) => keys, {
  numberOfKeys: (keys) => keys.length,
  lua: `${prelude}
local results = {}
for i = 1, #KEYS do
  local c = load(KEYS[i])
  if c == false then
    results[i] = { "corrupt", "Closed", "0", "0", "0", 0, "" }
  else
    results[i] = snapshot("ok", c)
  end
end
return results
`
}).withReturnType<ReadonlyArray<unknown>>()

// ---------------------------------------------------------------------------------------------------------------
// Decoding

const StateSchema = Schema.Literals(["Closed", "Open", "HalfOpen"])

const ReasonSchema = Schema.Literals([
  "failureThreshold",
  "failureRate",
  "slowCallRate",
  "resetTimeout",
  "trialSucceeded",
  "trialFailed",
  "halfOpenTimeout",
  "forcedOpen",
  "manualClose",
  "reset",
  ""
])

/** Epochs are Redis microseconds: decimal strings that must stay exact as JavaScript numbers. */
const Epoch = Schema.String.check(
  Schema.isPattern(/^\d{1,16}$/),
  Schema.makeFilter((s: string) => Number.isSafeInteger(Number(s)), { expected: "an epoch below 2^53" })
)
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const CountFromString = Schema.String.check(Schema.isPattern(/^\d{1,16}$/))

/** A circuit as the shared store has it. @internal */
export interface Snapshot {
  readonly state: State
  /** Raised by every shared transition; "0" for a circuit that never transitioned since Redis last lost it. */
  readonly epoch: number
  /** Millis left of an opening (0 when forced or not Open). */
  readonly remaining: number
  readonly openings: number
  readonly forced: boolean
  readonly reason: TransitionReason | undefined
}

const ReplySchema = Schema.Tuple([
  Schema.Literals(["ok", "applied", "stale", "tripped", "corrupt", "granted", "busy", "open", "closed"]),
  StateSchema,
  Epoch,
  CountFromString,
  CountFromString,
  Schema.Literals([0, 1]),
  ReasonSchema
])

/** What a script answered: a status and the circuit it left. @internal */
export type Status = (typeof ReplySchema.Type)[0]

/** @internal */
export interface Reply {
  readonly status: Status
  readonly snapshot: Snapshot
}

const decodeReplyTuple = Schema.decodeUnknownOption(ReplySchema)

/** A script's reply, or none when it is not one our scripts produce. @internal */
export const decodeReply = (raw: unknown): Option.Option<Reply> =>
  Option.map(decodeReplyTuple(raw), ([status, state, epoch, remaining, openings, forced, reason]) => ({
    status,
    snapshot: {
      state,
      epoch: Number(epoch),
      remaining: Number(remaining),
      openings: Number(openings),
      forced: forced === 1,
      reason: reason === "" ? undefined : reason
    }
  }))

const MessageSchema = Schema.fromJsonString(
  Schema.Struct({
    id: Schema.String,
    state: StateSchema,
    epoch: Epoch,
    remaining: Count,
    openings: Count,
    forced: Schema.Literals([0, 1]),
    reason: ReasonSchema
  })
)

const decodeMessageStruct = Schema.decodeUnknownOption(MessageSchema)

/** A transition announced on the domain's channel, or none when it is not a message our scripts publish. @internal */
export const decodeMessage = (raw: string): Option.Option<{ readonly id: string; readonly snapshot: Snapshot }> =>
  Option.map(decodeMessageStruct(raw), (message) => ({
    id: message.id,
    snapshot: {
      state: message.state,
      epoch: Number(message.epoch),
      remaining: message.remaining,
      openings: message.openings,
      forced: message.forced === 1,
      reason: message.reason === "" ? undefined : message.reason
    }
  }))

const decodeIds = Schema.decodeUnknownOption(Schema.Array(Schema.String))

/** The members of the circuit index, or none. @internal */
export const decodeIdList = (raw: unknown): Option.Option<ReadonlyArray<string>> => decodeIds(raw)
