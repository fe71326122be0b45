// The Redis-backed breaker against a real redis-server (started on a free loopback port by this suite). Several
// "processes" in one test are separate breakers with separate Redis clients: they share nothing but Redis. The
// multi-process tests run real OS processes (test/support/breakerWorker.ts). Real time is used, with generous bounds:
// the behaviour under test is the interplay with a real server.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { NodeRedis } from "@effect/platform-node"
import {
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Ref,
  Schedule,
  type Scope,
  Stream
} from "effect"
import { Redis } from "effect/persistence"
import { CircuitBreaker } from "effect-fallback"
import { spawn } from "node:child_process"
import { installHint, isRedisServerAvailable, type RedisServer, startRedisServer } from "./support/redisServer.ts"

const available = isRedisServerAvailable()
if (!available) console.warn(`[CircuitBreaker.redis] skipped: ${installHint}`)

class Shared extends CircuitBreaker.Service<Shared>()("test/SharedBreaker") {}

class Boom extends Data.TaggedError("Boom")<{}> {}

const FLUSH = 50
const SYNC = 1_000
/** How long after a trip another process may still admit calls: flushInterval + pub/sub latency, with slack for CI. */
const BOUND = FLUSH + 400

/** `it.live` with the test fiber's own logs (local transitions) silenced; each node captures its layer's logs. */
const live = <A, E>(name: string, body: () => Effect.Effect<A, E, Scope.Scope>, timeout?: number) =>
  it.live(name, () => body().pipe(Effect.provide(Logger.layer([]))), timeout)

let prefixes = 0
const uniquePrefix = () => `test-${process.pid}-${Date.now().toString(36)}-${++prefixes}:`

interface Node {
  readonly breaker: CircuitBreaker.CircuitBreaker
  readonly logs: Array<string>
}

/** One "process": its own Redis client and breaker, built in the test's scope. */
const node = (
  url: string,
  prefix: string,
  options: CircuitBreaker.Options = {},
  redis: Parameters<typeof CircuitBreaker.layerRedis>[2] = {}
) =>
  Effect.gen(function* () {
    const logs: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      logs.push(`${logLevel} ${(message as ReadonlyArray<unknown>).map(String).join(" ")}`)
    })
    const layer = CircuitBreaker.layerRedis(
      Shared,
      { failureThreshold: 3, resetTimeout: "300 millis", ...options },
      {
        prefix,
        flushInterval: FLUSH,
        syncInterval: SYNC,
        commandTimeout: "200 millis",
        trialLease: "1 second",
        ...redis
      }
    ).pipe(Layer.provide(NodeRedis.layer({ url, disableOfflineQueue: true })))
    const context = yield* Layer.build(layer).pipe(Effect.provide(Logger.layer([capture])))
    return { breaker: Context.get(context, Shared), logs } satisfies Node
  })

const fail = (breaker: CircuitBreaker.CircuitBreaker, id: string) =>
  Effect.fail(new Boom()).pipe(breaker.protect(id), Effect.exit)

const failTimes = (breaker: CircuitBreaker.CircuitBreaker, id: string, n: number) =>
  Effect.repeat(fail(breaker, id), { times: n - 1 })

/** Polls `state` every 5 ms until it is `expected`; returns the milliseconds waited, or fails after `within`. */
const waitForState = (
  breaker: CircuitBreaker.CircuitBreaker,
  id: string,
  expected: CircuitBreaker.State,
  within: number
) =>
  Effect.gen(function* () {
    const started = Date.now()
    while (true) {
      const state = yield* breaker.state(id)
      if (state === expected) return Date.now() - started
      if (Date.now() - started > within) {
        return yield* Effect.die(new Error(`circuit ${id} still ${state} after ${within} ms (expected ${expected})`))
      }
      yield* Effect.sleep("5 millis")
    }
  })

const waitUntil = (label: string, condition: () => boolean, within: number) =>
  Effect.gen(function* () {
    const started = Date.now()
    while (!condition()) {
      if (Date.now() - started > within) return yield* Effect.die(new Error(`${label}: not within ${within} ms`))
      yield* Effect.sleep("10 millis")
    }
    return Date.now() - started
  })

/** Runs `effect` through the circuit and says what happened: the primary ran, or the circuit rejected it. */
const attempt = (breaker: CircuitBreaker.CircuitBreaker, id: string, ran: Ref.Ref<number>) =>
  Ref.update(ran, (n) => n + 1).pipe(
    Effect.as("primary" as const),
    breaker.protect(id),
    Effect.catchTag("CircuitOpenError", (e) => Effect.succeed(`rejected:${e.state}` as const))
  )

/** A raw connection for poking at Redis the way another program would. */
const rawRedis = (url: string) =>
  Effect.map(Layer.build(NodeRedis.layer({ url, disableOfflineQueue: true })), (context) =>
    Context.get(context, Redis.Redis)
  )

describe.runIf(available)("CircuitBreaker.layerRedis", () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  describe("sharing circuits between processes", () => {
    live("a circuit tripped by one process's failures rejects calls in another within the consistency bound", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        const ran = yield* Ref.make(0)
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "primary")

        yield* failTimes(a.breaker, "db", 3)
        assert.strictEqual(yield* a.breaker.state("db"), "Open")
        const waited = yield* waitForState(b.breaker, "db", "Open", BOUND)
        assert.isAtMost(waited, BOUND)

        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "rejected:Open")
        assert.strictEqual(yield* Ref.get(ran), 1, "the rejected call never ran")
        const stats = yield* b.breaker.stats("db")
        const retryAfter = Duration.toMillis(stats.retryAfter ?? Duration.zero)
        assert.isAbove(retryAfter, 100, "the other process waits out the shared opening")
      })
    )

    live("a process that joins with different options logs it once; one with the same options does not", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix, { failureThreshold: 2, resetTimeout: "30 seconds" })
        const same = yield* node(server.url, prefix, { failureThreshold: 2, resetTimeout: "30 seconds" })
        const other = yield* node(server.url, prefix, { failureThreshold: 50, resetTimeout: "1 second" })
        const warnings = (logs: Array<string>) => logs.filter((line) => line.includes("with different options"))
        assert.deepStrictEqual(warnings(a.logs), [])
        assert.deepStrictEqual(warnings(same.logs), [])
        assert.strictEqual(warnings(other.logs).length, 1)
      })
    )

    live("failures spread over processes trip the circuit from their aggregate", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix, { failureThreshold: 4 })
        const b = yield* node(server.url, prefix, { failureThreshold: 4 })
        yield* failTimes(a.breaker, "db", 2)
        yield* failTimes(b.breaker, "db", 2)
        // Neither process saw four failures in a row; the aggregate did.
        yield* waitForState(a.breaker, "db", "Open", 2 * BOUND)
        yield* waitForState(b.breaker, "db", "Open", 2 * BOUND)
      })
    )

    live("a success in any process resets the shared failure streak", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix, { failureThreshold: 4 })
        const b = yield* node(server.url, prefix, { failureThreshold: 4 })
        const ran = yield* Ref.make(0)
        yield* failTimes(a.breaker, "db", 2)
        yield* Effect.sleep(FLUSH * 3)
        yield* attempt(b.breaker, "db", ran)
        yield* fail(b.breaker, "db")
        yield* Effect.sleep(FLUSH * 3)
        yield* fail(a.breaker, "db")
        yield* Effect.sleep(FLUSH * 4)
        // Five failures in all, but never four in a row across the cluster.
        assert.strictEqual(yield* a.breaker.state("db"), "Closed")
        assert.strictEqual(yield* b.breaker.state("db"), "Closed")
      })
    )

    live("a failure rate over the processes' outcomes trips the circuit", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const options: CircuitBreaker.Options = {
          failureThreshold: 100,
          failureRate: { threshold: 0.5, minimumCalls: 8, window: 20 }
        }
        const a = yield* node(server.url, prefix, options)
        const b = yield* node(server.url, prefix, options)
        const ran = yield* Ref.make(0)
        // Each process alone stays under minimumCalls; together they see 8 calls, 4 failed.
        for (const n of [a, b]) {
          yield* attempt(n.breaker, "db", ran)
          yield* fail(n.breaker, "db")
          yield* attempt(n.breaker, "db", ran)
          yield* fail(n.breaker, "db")
        }
        yield* waitForState(a.breaker, "db", "Open", 2 * BOUND)
        yield* waitForState(b.breaker, "db", "Open", 2 * BOUND)
      })
    )

    live("a failure rate over a time window of the processes' outcomes trips the circuit", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const options: CircuitBreaker.Options = {
          failureThreshold: 100,
          failureRate: { threshold: 0.5, minimumCalls: 6, window: "10 seconds" }
        }
        const a = yield* node(server.url, prefix, options)
        const b = yield* node(server.url, prefix, options)
        const ran = yield* Ref.make(0)
        for (const n of [a, b]) {
          yield* attempt(n.breaker, "db", ran)
          yield* fail(n.breaker, "db")
          yield* fail(n.breaker, "db")
        }
        yield* waitForState(a.breaker, "db", "Open", 2 * BOUND)
        yield* waitForState(b.breaker, "db", "Open", 2 * BOUND)
        assert.strictEqual((yield* b.breaker.stats("db")).failures, 2, "each process saw only its own calls")
      })
    )

    live("circuits of different ids and different prefixes stay apart", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        const other = yield* node(server.url, uniquePrefix())
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep(FLUSH * 3)
        assert.strictEqual(yield* b.breaker.state("cache"), "Closed")
        assert.strictEqual(yield* other.breaker.state("db"), "Closed")
      })
    )
  })

  describe("HalfOpen across processes", () => {
    live("a HalfOpen trial is admitted in one process at a time, and its success closes the circuit everywhere", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        const ran = yield* Ref.make(0)
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep("350 millis")

        const trial = yield* holdTrial(a.breaker, "db")
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "rejected:HalfOpen")
        assert.strictEqual(yield* Ref.get(ran), 0, "the second trial never ran")

        yield* trial.finish(false)
        assert.strictEqual(yield* a.breaker.state("db"), "Closed")
        yield* waitForState(b.breaker, "db", "Closed", BOUND)
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "primary")
      })
    )

    live("a failed trial reopens the circuit in every process", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep("350 millis")
        const trial = yield* holdTrial(b.breaker, "db")
        yield* trial.finish(true)
        assert.strictEqual(yield* b.breaker.state("db"), "Open")
        yield* waitForState(a.breaker, "db", "Open", BOUND)
        const stats = yield* a.breaker.stats("db")
        assert.strictEqual(stats.openings, 2, "the backoff count is shared")
      })
    )

    live("successThreshold counts the trial successes of every process", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const options = { successThreshold: 2, halfOpenMaxCalls: 2 }
        const a = yield* node(server.url, prefix, options)
        const b = yield* node(server.url, prefix, options)
        const ran = yield* Ref.make(0)
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep("350 millis")
        assert.strictEqual(yield* attempt(a.breaker, "db", ran), "primary")
        // One success each: neither process reached two on its own.
        assert.strictEqual(yield* a.breaker.state("db"), "HalfOpen")
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "primary")
        yield* waitForState(a.breaker, "db", "Closed", BOUND)
        yield* waitForState(b.breaker, "db", "Closed", BOUND)
      })
    )

    live("an interrupted trial gives its lease back at once", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix, {}, { trialLease: "30 seconds" })
        const b = yield* node(server.url, prefix, {}, { trialLease: "30 seconds" })
        const ran = yield* Ref.make(0)
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep("350 millis")
        const trial = yield* holdTrial(a.breaker, "db")
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "rejected:HalfOpen")
        yield* trial.interrupt
        const released = Date.now()
        while ((yield* attempt(b.breaker, "db", ran)) !== "primary") {
          assert.isBelow(Date.now() - released, BOUND, "the lease came back long before it would expire")
          yield* Effect.sleep("10 millis")
        }
      })
    )

    live("a stream through a HalfOpen circuit also needs the cluster-wide trial permit", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep("350 millis")
        const trial = yield* holdTrial(a.breaker, "db")
        const streamed = yield* Stream.make(1, 2, 3).pipe(b.breaker.protectStream("db"), Stream.runCollect, Effect.flip)
        assert.strictEqual(streamed._tag, "CircuitOpenError")
        yield* trial.finish(false)
        yield* waitForState(b.breaker, "db", "Closed", BOUND)
        const items = yield* Stream.make(1, 2, 3).pipe(b.breaker.protectStream("db"), Stream.runCollect)
        assert.deepStrictEqual(items, [1, 2, 3])
      })
    )

    live("the lease of a trial that never reports expires after trialLease, and another process may try", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const lease = { trialLease: "600 millis" } as const
        const a = yield* node(server.url, prefix, {}, lease)
        const b = yield* node(server.url, prefix, {}, lease)
        const ran = yield* Ref.make(0)
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        yield* Effect.sleep("350 millis")
        // A trial that hangs forever, as in a process that froze while holding the lease.
        yield* holdTrial(a.breaker, "db")
        const leased = Date.now()
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "rejected:HalfOpen")
        while ((yield* attempt(b.breaker, "db", ran)) !== "primary") {
          assert.isBelow(Date.now() - leased, 2_000, "the lease expired")
          yield* Effect.sleep("25 millis")
        }
        assert.isAtLeast(Date.now() - leased, 500, "the lease held until it expired")
        yield* waitForState(b.breaker, "db", "Closed", BOUND)
      })
    )
  })

  describe("converging", () => {
    live("a process started after a trip reads the shared state before its first call", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        yield* failTimes(a.breaker, "db", 3)
        yield* Effect.sleep(FLUSH * 2)
        const late = yield* node(server.url, prefix)
        const ran = yield* Ref.make(0)
        assert.strictEqual(yield* attempt(late.breaker, "db", ran), "rejected:Open")
        assert.strictEqual(yield* Ref.get(ran), 0)
      })
    )

    live("a process that missed a transition converges at the next sync", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const b = yield* node(server.url, prefix)
        const ran = yield* Ref.make(0)
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "primary")
        // Another program opens the circuit in Redis without announcing it.
        const raw = yield* rawRedis(server.url)
        const [seconds] = yield* raw.send<[string, string]>("TIME")
        const now = Number(seconds) * 1000
        yield* raw.send(
          "HSET",
          `${prefix}test/SharedBreaker:circuit:db`,
          ..."state Open forced 0 openings 1 reason failureThreshold".split(" "),
          "epoch",
          String(now * 1000 + 999_999),
          "openUntil",
          String(now + 5_000)
        )
        const waited = yield* waitForState(b.breaker, "db", "Open", SYNC + 500)
        assert.isAtMost(waited, SYNC + 500)
      })
    )
  })

  describe("lost subscriptions", () => {
    live("a subscription Redis drops comes back; what was published meanwhile arrives with the next sync", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        const raw = yield* rawRedis(server.url)
        const ran = yield* Ref.make(0)
        yield* attempt(b.breaker, "db", ran)
        yield* attempt(b.breaker, "api", ran)
        yield* raw.send("CLIENT", "KILL", "TYPE", "pubsub")
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", SYNC + 500)
        yield* Effect.sleep("300 millis")
        yield* failTimes(a.breaker, "api", 3)
        yield* waitForState(b.breaker, "api", "Open", BOUND)
      })
    )
  })

  describe("data that cannot be trusted", () => {
    live("a key holding something else, a garbled hash and garbled messages are logged once and ignored", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const base = `${prefix}test/SharedBreaker:`
        const raw = yield* rawRedis(server.url)
        yield* raw.send("SET", `${base}circuit:db`, "not a circuit")
        yield* raw.send("HSET", `${base}circuit:cache`, "state", "Exploded", "epoch", "12", "openUntil", "0")
        const b = yield* node(server.url, prefix)
        const ran = yield* Ref.make(0)
        yield* raw.send("PUBLISH", `${base}transitions`, "{not json")
        yield* raw.send(
          "PUBLISH",
          `${base}transitions`,
          JSON.stringify({
            id: "cache",
            state: "Open",
            epoch: "9".repeat(17),
            remaining: -1,
            openings: 1,
            forced: 0,
            reason: "x"
          })
        )
        for (let i = 0; i < 10; i++) {
          assert.strictEqual(yield* attempt(b.breaker, "cache", ran), "primary")
          yield* Effect.sleep(FLUSH / 2)
        }
        assert.strictEqual(yield* b.breaker.state("cache"), "Closed", "nothing undecodable was adopted")
        // The local circuit still works, and its trip is kept locally.
        yield* failTimes(b.breaker, "db", 3)
        yield* Effect.sleep(FLUSH * 3)
        assert.strictEqual(yield* b.breaker.state("db"), "Open")

        const ignored = (what: string) => b.logs.filter((line) => line.startsWith("Warn") && line.includes(what)).length
        assert.strictEqual(ignored(`circuit "cache"`), 1, "a garbled circuit is logged once")
        assert.strictEqual(ignored(`circuit "db"`), 1)
        assert.strictEqual(ignored("a message on"), 2)

        // A manual operation rewrites what the breaker could not read.
        yield* b.breaker.reset("db")
        yield* Effect.sleep(FLUSH * 2)
        assert.strictEqual(yield* raw.send<string>("HGET", `${base}circuit:db`, "state"), "Closed")
      })
    )

    live("a trip replaces garbage in the circuit's hash and reaches the other process within the bound", () =>
      Effect.gen(function* () {
        const prefix = uniquePrefix()
        const base = `${prefix}test/SharedBreaker:`
        const raw = yield* rawRedis(server.url)
        yield* raw.send("HSET", `${base}circuit:db`, "state", "Exploded", "epoch", "12", "openUntil", "soon")
        const a = yield* node(server.url, prefix)
        const b = yield* node(server.url, prefix)
        yield* b.breaker.state("db")
        yield* failTimes(a.breaker, "db", 3)
        assert.strictEqual(yield* a.breaker.state("db"), "Open")
        yield* waitForState(b.breaker, "db", "Open", BOUND)
        assert.strictEqual(yield* raw.send<string>("HGET", `${base}circuit:db`, "state"), "Open")
      })
    )
  })

  describe("when Redis fails", () => {
    live("Redis killed: calls neither wait nor fail, one log line per outage, state re-synced when it is back", () =>
      Effect.gen(function* () {
        const own = yield* Effect.acquireRelease(Effect.promise(startRedisServer), (s) => Effect.promise(s.stop))
        const prefix = uniquePrefix()
        // The first opening lasts 300 ms, the next one (right after a close) 30 s: it outlives the outage.
        const options = { resetTimeout: Schedule.exponential("300 millis", 100) }
        const a = yield* node(own.url, prefix, options)
        const b = yield* node(own.url, prefix, options)
        const ran = yield* Ref.make(0)
        assert.strictEqual(yield* attempt(b.breaker, "db", ran), "primary")
        yield* Effect.promise(own.kill)

        const started = Date.now()
        for (let i = 0; i < 200; i++) assert.strictEqual(yield* attempt(a.breaker, "db", ran), "primary")
        assert.isBelow(Date.now() - started, 2_000, "no call waited on Redis (200 waits would take 40 s)")
        yield* failTimes(a.breaker, "db", 3)
        assert.strictEqual(yield* attempt(a.breaker, "db", ran), "rejected:Open")
        // A trial with Redis known to be down is decided locally, at once.
        yield* Effect.sleep("350 millis")
        const trialStarted = Date.now()
        assert.strictEqual(yield* attempt(a.breaker, "db", ran), "primary")
        assert.isBelow(Date.now() - trialStarted, 150, "decided locally, not after commandTimeout (200 ms)")
        yield* failTimes(a.breaker, "db", 3)
        assert.strictEqual((yield* a.breaker.stats("db")).openings, 2)
        yield* Effect.sleep(FLUSH * 6)
        const outageLogs = (n: Node) => n.logs.filter((line) => line.includes("Redis unreachable")).length
        assert.strictEqual(outageLogs(a), 1)

        yield* Effect.promise(own.restart)
        yield* waitUntil("a sees Redis again", () => a.logs.some((line) => line.includes("reachable again")), 8_000)
        // The restarted Redis lost everything: the process that holds the circuit open seeds it again.
        yield* waitForState(b.breaker, "db", "Open", 8_000)
        const late = yield* node(own.url, prefix)
        assert.strictEqual(yield* late.breaker.state("db"), "Open")
        assert.strictEqual(outageLogs(a), 1)
        assert.strictEqual(outageLogs(b), 1)
      })
    )

    live("Redis frozen: a HalfOpen trial waits at most commandTimeout and Closed calls do not wait at all", () =>
      Effect.gen(function* () {
        const own = yield* Effect.acquireRelease(Effect.promise(startRedisServer), (s) => Effect.promise(s.stop))
        const prefix = uniquePrefix()
        const a = yield* node(own.url, prefix)
        const ran = yield* Ref.make(0)
        yield* failTimes(a.breaker, "db", 3)
        yield* Effect.sleep(FLUSH * 2)
        yield* Effect.acquireRelease(Effect.sync(own.pause), () => Effect.sync(own.resume))
        yield* Effect.sleep("350 millis")

        const trialStarted = Date.now()
        assert.strictEqual(yield* attempt(a.breaker, "db", ran), "primary")
        assert.isBelow(
          Date.now() - trialStarted,
          200 + 1_300,
          "bounded by commandTimeout (a frozen Redis never answers)"
        )
        assert.strictEqual(yield* a.breaker.state("db"), "Closed")

        const started = Date.now()
        for (let i = 0; i < 200; i++) assert.strictEqual(yield* attempt(a.breaker, "cache", ran), "primary")
        assert.isBelow(Date.now() - started, 2_000, "Closed calls do not wait (200 waits would take 40 s)")
        yield* Effect.sleep(FLUSH * 8)
        assert.strictEqual(a.logs.filter((line) => line.includes("Redis unreachable")).length, 1)
        own.resume()
        yield* waitUntil("a sees Redis again", () => a.logs.some((line) => line.includes("reachable again")), 5_000)
      })
    )

    live("a Redis that answers but refuses writes (out of memory) is one outage in the log, not a flood", () =>
      Effect.gen(function* () {
        const own = yield* Effect.acquireRelease(Effect.promise(startRedisServer), (s) => Effect.promise(s.stop))
        const prefix = uniquePrefix()
        const a = yield* node(own.url, prefix)
        const raw = yield* rawRedis(own.url)
        const ran = yield* Ref.make(0)
        yield* raw.send("CONFIG", "SET", "maxmemory-policy", "noeviction")
        yield* raw.send("CONFIG", "SET", "maxmemory", "1")
        const started = Date.now()
        while (Date.now() - started < 1_500) {
          assert.strictEqual(yield* attempt(a.breaker, "db", ran), "primary")
          yield* Effect.sleep("5 millis")
        }
        const outage = a.logs.filter((line) => line.includes("Redis unreachable") || line.includes("reachable again"))
        assert.isAtLeast(outage.length, 1)
        assert.isAtMost(outage.length, 2, "flapping between refused writes and answered pings is not logged each time")

        yield* raw.send("CONFIG", "SET", "maxmemory", "0")
        yield* failTimes(a.breaker, "db", 3)
        const key = `${prefix}test/SharedBreaker:circuit:db`
        const shared = Effect.map(raw.send<string | null>("HGET", key, "state"), (state) => state === "Open")
        let stored = false
        const waitStarted = Date.now()
        while (!stored && Date.now() - waitStarted < SYNC + 1_000) {
          stored = yield* shared
          if (!stored) yield* Effect.sleep("20 millis")
        }
        assert.isTrue(stored, "once writes are accepted again, the trip is stored")
      })
    )

    live("Redis killed and restarted under load: every call runs, none waits, and sharing resumes", () =>
      Effect.gen(function* () {
        const own = yield* Effect.acquireRelease(Effect.promise(startRedisServer), (s) => Effect.promise(s.stop))
        const prefix = uniquePrefix()
        // A long command timeout tells a call that waited on Redis from a scheduling hiccup of a loaded machine.
        const a = yield* node(own.url, prefix, {}, { commandTimeout: "2 seconds" })
        const b = yield* node(own.url, prefix, {}, { commandTimeout: "2 seconds" })
        const ran = yield* Ref.make(0)
        let running = true
        let calls = 0
        let unexpected = 0
        let slowest = 0
        const load = (n: Node) =>
          Effect.gen(function* () {
            while (running) {
              const started = performance.now()
              const result = yield* attempt(n.breaker, "db", ran)
              slowest = Math.max(slowest, performance.now() - started)
              calls++
              if (result !== "primary") unexpected++
              yield* Effect.yieldNow
            }
          })
        const loads = yield* Effect.forkChild(Effect.all([load(a), load(b)], { concurrency: 2 }))
        yield* Effect.sleep("200 millis")
        yield* Effect.promise(own.kill)
        yield* Effect.sleep("500 millis")
        yield* Effect.promise(own.restart)
        yield* waitUntil(
          "both see Redis again",
          () => [a, b].every((n) => n.logs.some((line) => line.includes("reachable again"))),
          8_000
        )
        yield* Effect.sleep("200 millis")
        running = false
        yield* Fiber.join(loads)

        assert.isAbove(calls, 1_000)
        assert.strictEqual(unexpected, 0, "every call ran its primary")
        assert.isBelow(slowest, 1_000, "no call waited on Redis (a wait would last commandTimeout, 2 s)")
        yield* failTimes(a.breaker, "db", 3)
        yield* waitForState(b.breaker, "db", "Open", SYNC + 500)
      })
    )
  })

  describe("separate OS processes", () => {
    live(
      "two processes, one circuit: failures in one make both fall back; a killed trial holder's lease expires",
      () =>
        Effect.gen(function* () {
          const prefix = uniquePrefix()
          const [one, two] = yield* Effect.all([worker(server.url, prefix), worker(server.url, prefix)], {
            concurrency: 2
          })
          assert.strictEqual(yield* two.send({ op: "call" }), "primary")
          for (let i = 0; i < 3; i++) assert.strictEqual(yield* one.send({ op: "call", fail: true }), "failed")
          assert.strictEqual(yield* one.send({ op: "call" }), "fallback")
          const started = Date.now()
          while ((yield* two.send({ op: "state" })) !== "Open") {
            assert.isBelow(Date.now() - started, BOUND + 500, "the other process sees the trip")
          }
          assert.strictEqual(yield* two.send({ op: "call" }), "fallback")

          yield* Effect.sleep("350 millis")
          assert.strictEqual(yield* one.send({ op: "hold" }), "holding")
          assert.strictEqual(yield* two.send({ op: "call" }), "fallback", "one trial at a time across processes")
          one.kill()
          const killed = Date.now()
          while ((yield* two.send({ op: "call" })) !== "primary") {
            assert.isBelow(Date.now() - killed, 2_500, "the dead process's lease expires")
            yield* Effect.sleep("50 millis")
          }
          assert.strictEqual(yield* two.send({ op: "state" }), "Closed")
        }),
      30_000
    )
  })

  live("an invalid Redis setting fails the layer with a CircuitBreakerConfigError naming it", () =>
    Effect.gen(function* () {
      const zero = yield* Effect.flip(node(server.url, uniquePrefix(), {}, { flushInterval: 0 }))
      assert.strictEqual(zero._tag, "CircuitBreakerConfigError")
      assert.include(zero.message, "redis.flushInterval")
      const soon = yield* Effect.flip(
        node(server.url, uniquePrefix(), {}, { commandTimeout: "soon" as unknown as import("effect").Duration.Input })
      )
      assert.include(soon.message, "redis.commandTimeout")
    })
  )
})

/** Starts a call through `id` that runs until `finish`: a HalfOpen trial held open. */
const holdTrial = (breaker: CircuitBreaker.CircuitBreaker, id: string) =>
  Effect.gen(function* () {
    const started = yield* Deferred.make<void>()
    const outcome = yield* Deferred.make<boolean>()
    const fiber = yield* Deferred.succeed(started, undefined).pipe(
      Effect.andThen(Deferred.await(outcome)),
      Effect.flatMap((fails) => (fails ? Effect.fail(new Boom()) : Effect.succeed("primary"))),
      breaker.protect(id),
      Effect.exit,
      Effect.forkChild({ startImmediately: true })
    )
    const ended = Effect.flatMap(Fiber.join(fiber), (exit) => Effect.die(new Error(`the trial did not start: ${exit}`)))
    yield* Effect.raceFirst(Deferred.await(started), ended)
    return {
      interrupt: Fiber.interrupt(fiber),
      finish: (fails: boolean) =>
        Effect.andThen(Deferred.succeed(outcome, fails), Fiber.join(fiber)).pipe(
          Effect.tap((exit) =>
            Exit.isSuccess(exit) === !fails ? Effect.void : Effect.die(new Error("unexpected trial exit"))
          )
        )
    }
  })

interface WorkerHandle {
  readonly send: (command: { readonly op: string; readonly fail?: boolean }) => Effect.Effect<string>
  readonly kill: () => void
}

/** A breakerWorker child process, killed with the test's scope. */
const worker = (url: string, prefix: string) =>
  Effect.acquireRelease(
    Effect.promise(() => spawnWorker(url, prefix)),
    (handle) => Effect.sync(handle.kill)
  )

const workerScript = new URL("./support/breakerWorker.ts", import.meta.url).pathname

const spawnWorker = (url: string, prefix: string): Promise<WorkerHandle> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@effect-fallback/source", workerScript, url, prefix], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const waiting: Array<(line: string) => void> = []
    let buffered = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8")
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        waiting.shift()?.(line)
        newline = buffered.indexOf("\n")
      }
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      for (const resume of waiting.splice(0)) resume(JSON.stringify({ result: `exited ${code}` }))
    })
    const handle: WorkerHandle = {
      send: (command) =>
        Effect.callback<string>((resume) => {
          waiting.push((line) => resume(Effect.succeed((JSON.parse(line) as { result: string }).result)))
          child.stdin.write(`${JSON.stringify(command)}\n`)
        }),
      kill: () => {
        child.kill("SIGKILL")
      }
    }
    waiting.push((line) => {
      if ((JSON.parse(line) as { ready?: boolean }).ready === true) resolve(handle)
      else reject(new Error(`worker did not start: ${line}`))
    })
  })
