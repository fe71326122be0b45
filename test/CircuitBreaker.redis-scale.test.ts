// The Redis-backed breaker next to thousands of circuits, against a real redis-server started by this suite: script
// calls carry bounded slices of circuits (Redis' SLOWLOG shows every command and its number of keys), a batch Redis
// did not take is sent again, the index is pruned with the circuits' keys (short real TTLs: Redis expires keys on its
// own clock), and a layer starting next to many shared circuits reads only those not Closed. The store's eviction
// seam (`evictable`, `dropped`) is checked on the store itself.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { NodeRedis } from "@effect/platform-node"
import { Context, Data, Effect, Fiber, Layer, Logger, Queue, type Scope } from "effect"
import { Redis } from "effect/persistence"
import { CircuitBreaker } from "effect-fallback"
import { Verdict } from "../src/internal/circuit.ts"
import { resolvePolicy } from "../src/internal/circuitBreakerPolicy.ts"
import type { Job } from "../src/internal/redisCircuit.ts"
import { flushBatches } from "../src/internal/redisFlusher.ts"
import { RedisLink } from "../src/internal/redisLink.ts"
import { resolveSettings } from "../src/internal/redisSettings.ts"
import { RedisStore } from "../src/internal/redisStore.ts"
import { captureLogs } from "./support/capture.ts"
import { installHint, isRedisServerAvailable, type RedisServer, startRedisServer } from "./support/redisServer.ts"

const available = isRedisServerAvailable()
if (!available) console.warn(`[CircuitBreaker.redis-scale] skipped: ${installHint}`)

class Scaled extends CircuitBreaker.Service<Scaled>()("test/ScaledBreaker") {}
class Boom extends Data.TaggedError("Boom")<{}> {}

const IDS = 5_000
/** Circuits per flush script call, and per read script call (redisBatches.ts). */
const FLUSH_BATCH = 50
const READ_BATCH = 100

const live = <A, E>(name: string, body: () => Effect.Effect<A, E, Scope.Scope>, timeout?: number) =>
  it.live(name, () => body().pipe(Effect.provide(Logger.layer([]))), timeout)

let prefixes = 0
const uniquePrefix = () => `scale-${process.pid}-${Date.now().toString(36)}-${++prefixes}:`
const base = (prefix: string) => `${prefix}test/ScaledBreaker:`

const redisClient = (url: string) =>
  Effect.map(Layer.build(NodeRedis.layer({ url, disableOfflineQueue: true })), (context) =>
    Context.get(context, Redis.Redis)
  )

/** One "process": its own Redis client and breaker, with the warnings it logs. */
const node = (
  url: string,
  prefix: string,
  redis: Parameters<typeof CircuitBreaker.layerRedis>[2] = {},
  options: CircuitBreaker.Options = {}
) =>
  Effect.gen(function* () {
    const capture = captureLogs()
    const layer = CircuitBreaker.layerRedis(
      Scaled,
      { failureThreshold: 3, resetTimeout: "1 hour", ...options },
      { prefix, flushInterval: 50, syncInterval: 1_000, ...redis }
    ).pipe(Layer.provide(NodeRedis.layer({ url, disableOfflineQueue: true })))
    const context = yield* Layer.build(layer).pipe(Effect.provide(capture.layer))
    const unreachable = () => capture.logs.filter((log) => log.text.includes("unreachable")).map((log) => log.text)
    return { breaker: Context.get(context, Scaled), unreachable }
  })

/** One failed call on each of `count` circuits, letting I/O in every 100 calls as a server between requests does. */
const failOnEach = (breaker: CircuitBreaker.CircuitBreaker, count: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < count; i++) {
      yield* Effect.exit(Effect.fail(new Boom()).pipe(breaker.protect(`user-${i}`)))
      if (i % 100 === 99) yield* Effect.sleep(1)
    }
  })

const waitUntil = <E, R>(label: string, condition: Effect.Effect<boolean, E, R>, within: number) =>
  Effect.gen(function* () {
    const started = Date.now()
    while (!(yield* condition)) {
      if (Date.now() - started > within) return yield* Effect.die(new Error(`${label}: not within ${within} ms`))
      yield* Effect.sleep("20 millis")
    }
  })

type SlowlogEntry = readonly [number, number, number, ReadonlyArray<string>]

/** Logs every command from now on (SLOWLOG with no threshold). */
const recordCommands = (raw: Redis.Redis["Service"]) =>
  Effect.gen(function* () {
    yield* raw.send("CONFIG", "SET", "slowlog-log-slower-than", "0")
    yield* raw.send("CONFIG", "SET", "slowlog-max-len", "200000")
    yield* raw.send("SLOWLOG", "RESET")
  })

/** The number of keys of every script call logged since `recordCommands`. */
const scriptKeyCounts = (raw: Redis.Redis["Service"]) =>
  Effect.gen(function* () {
    const log = yield* raw.send<ReadonlyArray<SlowlogEntry>>("SLOWLOG", "GET", "200000")
    yield* raw.send("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    return log.filter((entry) => entry[3][0] === "EVALSHA").map((entry) => Number(entry[3][2]))
  })

const exactlyZCard = (raw: Redis.Redis["Service"], key: string, count: number) =>
  Effect.map(raw.send<number>("ZCARD", key), (n) => Number(n) === count)

describe.runIf(available)("CircuitBreaker.layerRedis with thousands of circuits", () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  live(
    "the outcomes of 5,000 circuits go out in script calls of at most 50 circuits, and every one arrives",
    () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const raw = yield* redisClient(server.url)
        const a = yield* node(server.url, prefix)
        yield* recordCommands(raw)
        yield* failOnEach(a.breaker, IDS)
        yield* waitUntil("every circuit indexed", exactlyZCard(raw, `${base(prefix)}index`, IDS), 20_000)
        const keyCounts = yield* scriptKeyCounts(raw)
        // A flush call names the two indexes and two keys per circuit; a read call one key per circuit.
        const flushes = keyCounts.filter((keys) => keys > 4 && keys % 2 === 0 && keys !== READ_BATCH)
        assert.isAtMost(Math.max(...keyCounts), 2 + 2 * FLUSH_BATCH)
        assert.isAtLeast(flushes.length, IDS / FLUSH_BATCH)
        for (const id of ["user-0", "user-2500", `user-${IDS - 1}`]) {
          assert.strictEqual(yield* raw.send<string>("HGET", `${base(prefix)}circuit:${id}`, "streak"), "1")
        }
        assert.deepStrictEqual(a.unreachable(), [], "a healthy Redis is never unreachable")
      }),
    60_000
  )

  live(
    "a periodic sync reads the circuits in use and a bounded slice of the others in turn, not every circuit held",
    () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const raw = yield* redisClient(server.url)
        const a = yield* node(server.url, prefix, { syncInterval: "200 millis" })
        yield* failOnEach(a.breaker, 3_000)
        yield* Effect.sleep("600 millis")
        yield* recordCommands(raw)
        for (let i = 0; i < 10; i++) yield* Effect.exit(Effect.void.pipe(a.breaker.protect(`user-${i}`)))
        yield* Effect.sleep("500 millis")
        const keyCounts = yield* scriptKeyCounts(raw)
        // At most 3 syncs in 500 ms: each reads the 10 in use and the next 500 others (ROTATION), 100 per call.
        const circuitKeys = keyCounts.filter((keys) => keys !== 2).reduce((sum, keys) => sum + keys, 0)
        assert.isAbove(circuitKeys, 0, "circuits were read")
        assert.isAtMost(Math.max(...keyCounts), Math.max(READ_BATCH, 2 + 2 * FLUSH_BATCH))
        assert.isAtMost(circuitKeys, 3 * (10 + 500) + 2 + 2 * 10, "a sync never reads all 3,000 circuits")
      }),
    30_000
  )

  live("a batch Redis refused is sent again once Redis takes writes: nothing is lost", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix()
      const raw = yield* redisClient(server.url)
      const a = yield* node(server.url, prefix)
      const b = yield* node(server.url, prefix)
      // Both count "db" on their own; Redis refuses every write (out of memory) while `a` sends its two failures.
      yield* raw.send("CONFIG", "SET", "maxmemory-policy", "noeviction")
      yield* raw.send("CONFIG", "SET", "maxmemory", "1")
      yield* Effect.exit(Effect.fail(new Boom()).pipe(a.breaker.protect("db")))
      yield* Effect.exit(Effect.fail(new Boom()).pipe(a.breaker.protect("db")))
      yield* Effect.sleep("300 millis")
      const key = `${base(prefix)}circuit:db`
      assert.strictEqual(yield* raw.send<number>("EXISTS", key), 0, "refused")
      yield* raw.send("CONFIG", "SET", "maxmemory", "0")
      yield* waitUntil(
        "the kept batch arrives",
        Effect.map(raw.send<string | null>("HGET", key, "streak"), (streak) => streak === "2"),
        5_000
      )
      // The two kept failures and one of `b` make three (failureThreshold) in a row across the cluster: a trip.
      yield* Effect.exit(Effect.fail(new Boom()).pipe(b.breaker.protect("db")))
      yield* waitUntil(
        "the aggregate trips",
        Effect.map(b.breaker.state("db"), (state) => state === "Open"),
        5_000
      )
    })
  )

  live("a command Redis answers late, behind a long script, does not make a healthy Redis unreachable", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix()
      const busy = yield* redisClient(server.url)
      const raw = yield* redisClient(server.url)
      const a = yield* node(server.url, prefix, { commandTimeout: "200 millis" })
      // Another client's script holds Redis for 350 ms: the flush of "db" gets no reply within commandTimeout, the
      // PING that follows gets one.
      const script = `local function micros() local t = redis.call("TIME") return t[1] * 1000000 + t[2] end
local started = micros()
while micros() - started < 350000 do end
return 1`
      const held = yield* Effect.forkChild(busy.send("EVAL", script, "0"), { startImmediately: true })
      yield* Effect.sleep("10 millis")
      yield* Effect.exit(Effect.fail(new Boom()).pipe(a.breaker.protect("db")))
      yield* Fiber.join(held)
      yield* Effect.sleep("500 millis")
      assert.deepStrictEqual(a.unreachable(), [])
      const streak = yield* raw.send<string>("HGET", `${base(prefix)}circuit:db`, "streak")
      assert.include(["1", "2"], streak, "the late batch counted (twice when the late reply was applied too)")
    })
  )

  live("the index holds a circuit as long as its keys live, and is pruned once they expired", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix()
      const raw = yield* redisClient(server.url)
      const a = yield* node(server.url, prefix, { idleTimeToLive: "400 millis", syncInterval: "200 millis" })
      yield* Effect.exit(Effect.void.pipe(a.breaker.protect("idle")))
      for (let i = 0; i < 3; i++) yield* Effect.exit(Effect.fail(new Boom()).pipe(a.breaker.protect("tripped")))
      yield* waitUntil("both indexed", exactlyZCard(raw, `${base(prefix)}index`, 2), 2_000)
      assert.deepStrictEqual(yield* raw.send<ReadonlyArray<string>>("ZRANGE", `${base(prefix)}active`, "0", "-1"), [
        "tripped"
      ])
      // The idle circuit's hash expires after idleTimeToLive; the tripped one's after its opening (1 hour) plus that.
      yield* waitUntil("the idle circuit pruned", exactlyZCard(raw, `${base(prefix)}index`, 1), 3_000)
      assert.strictEqual(yield* raw.send<number>("EXISTS", `${base(prefix)}circuit:idle`), 0)
      assert.deepStrictEqual(yield* raw.send<ReadonlyArray<string>>("ZRANGE", `${base(prefix)}index`, "0", "-1"), [
        "tripped"
      ])
      assert.strictEqual(Number(yield* raw.send<number>("ZCARD", `${base(prefix)}active`)), 1)
    })
  )

  live(
    "a layer starting next to 5,000 shared circuits reads only those not Closed, and any other when first used",
    () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const raw = yield* redisClient(server.url)
        // No re-sync of its 5,000 circuits by `a` while the late layer starts: its reads are all the log shows.
        const a = yield* node(server.url, prefix, { syncInterval: "1 hour" })
        yield* failOnEach(a.breaker, IDS)
        for (let i = 0; i < 5; i++) {
          yield* Effect.repeat(Effect.exit(Effect.fail(new Boom()).pipe(a.breaker.protect(`user-${i * 1000}`))), {
            times: 1
          })
        }
        yield* waitUntil("every circuit indexed", exactlyZCard(raw, `${base(prefix)}index`, IDS), 20_000)
        yield* waitUntil("five tripped", exactlyZCard(raw, `${base(prefix)}active`, 5), 5_000)
        yield* recordCommands(raw)
        const late = yield* node(server.url, prefix)
        const keyCounts = yield* scriptKeyCounts(raw)
        assert.isAtMost(Math.max(...keyCounts), 5, "start-up read the five circuits not Closed, not the index")
        assert.strictEqual(yield* late.breaker.state("user-3000"), "Open", "adopted at start-up")
        assert.strictEqual((yield* late.breaker.circuits).length, 5)
        // Another program opens a Closed circuit without announcing it: the late layer reads it when first used.
        const [seconds] = yield* raw.send<[string, string]>("TIME")
        const now = Number(seconds) * 1000
        yield* raw.send(
          "HSET",
          `${base(prefix)}circuit:user-42`,
          ..."state Open forced 0 openings 1 reason failureThreshold".split(" "),
          "epoch",
          String(now * 1000 + 999_999),
          "openUntil",
          String(now + 60_000)
        )
        yield* Effect.exit(Effect.void.pipe(late.breaker.protect("user-42")))
        yield* waitUntil(
          "user-42 read",
          Effect.map(late.breaker.state("user-42"), (state) => state === "Open"),
          1_000
        )
        assert.deepStrictEqual(late.unreachable(), [], "a healthy Redis is never unreachable")
      }),
    60_000
  )

  live(
    "beyond maxCircuits, a circuit is dropped only once its outcomes are in Redis: the breaker comes back to its cap",
    () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const raw = yield* redisClient(server.url)
        const a = yield* node(server.url, prefix, {}, { maxCircuits: 100 })
        yield* failOnEach(a.breaker, 1_000)
        // Every failure reached Redis, dropped circuits' included.
        yield* waitUntil("every circuit indexed", exactlyZCard(raw, `${base(prefix)}index`, 1_000), 20_000)
        for (const id of ["user-0", "user-500", "user-999"]) {
          assert.strictEqual(yield* raw.send<string>("HGET", `${base(prefix)}circuit:${id}`, "streak"), "1")
        }
        // New circuits drop the ones whose outcomes went out, up to two each, down to the cap.
        let created = 0
        const atCap = Effect.gen(function* () {
          for (let i = 0; i < 20; i++) {
            yield* Effect.exit(Effect.succeed("ok").pipe(a.breaker.protect(`other-${created++}`)))
          }
          return (yield* a.breaker.circuits).length <= 100
        })
        yield* waitUntil("back to the cap", atCap, 10_000)
        assert.deepStrictEqual(a.unreachable(), [], "a healthy Redis is never unreachable")
      }),
    30_000
  )

  describe("the eviction seam", () => {
    const store = (url: string) =>
      Effect.gen(function* () {
        const policy = yield* resolvePolicy("test/ScaledBreaker", { failureThreshold: 3 })
        const settings = yield* resolveSettings(policy, { prefix: uniquePrefix() })
        const redis = yield* redisClient(url)
        const jobs = yield* Queue.unbounded<Job>()
        const context = yield* Effect.context<never>()
        return new RedisStore(new RedisLink(policy, settings, redis, jobs, context))
      })

    live("a circuit is evictable only when nothing is pending for it, and a dropped one is forgotten", () =>
      Effect.gen(function* () {
        const redis = yield* store(server.url)
        const link = redis.link
        const circuit = redis.create("user-1", [])
        assert.isTrue(redis.evictable(circuit), "a fresh circuit owes nothing")

        redis.record(circuit, circuit.generation, false, Verdict.Failure, false, Date.now(), new Boom())
        assert.isFalse(redis.evictable(circuit), "an outcome waits to be sent")
        yield* flushBatches(link)
        assert.isTrue(redis.evictable(circuit), "the outcome was sent")

        link.submit({
          _tag: "Trial",
          circuit,
          token: "t",
          outcome: "release",
          openMillis: 1,
          openings: 1
        })
        assert.isFalse(redis.evictable(circuit), "a job is queued")
        circuit.pending--
        circuit.leases.push({ token: "t", generation: circuit.generation })
        assert.isFalse(redis.evictable(circuit), "a trial holds a lease")
        circuit.leases.length = 0
        link.firstRead(circuit)
        assert.isFalse(redis.evictable(circuit), "its first read is queued")
        circuit.pending--
        link.unread.length = 0

        assert.strictEqual(link.circuits.get("user-1"), circuit)
        redis.dropped(circuit)
        assert.isFalse(link.circuits.has("user-1"))
        const again = redis.create("user-1", [])
        redis.dropped(circuit)
        assert.strictEqual(link.circuits.get("user-1"), again, "dropping a stale circuit keeps the live one")
      })
    )
  })
})
