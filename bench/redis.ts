// The Redis-backed breaker (`CircuitBreaker.layerRedis`) against the in-memory one on the same Closed call, side by
// side with Effect 4.1's `effect/persistence` breaker on `layerStoreRedis` (two Redis round trips per call), against a
// redis-server started for the run on a free loopback port. Measured while setting up, and printed under the table:
// calls per second per process with two OS processes sharing one circuit, and how long a trip takes to reach another
// process (the consistency bound). Skipped, with the install hint, when redis-server is missing.
import { spawn } from "node:child_process"
import { NodeRedis } from "@effect/platform-node"
import { Context, Data, Effect, Exit, Fiber, Layer, Logger, Scope, Stream } from "effect"
import { CircuitBreaker as EffectBreaker, Redis } from "effect/persistence"
import { CircuitBreaker } from "effect-fallback"
import { installHint, isRedisServerAvailable, startRedisServer } from "../test/support/redisServer.ts"
import { effectLoop, type FigureProbe, median, type Suite, type Target } from "./harness.ts"

export const REDIS = "Redis-backed breaker: one Closed call per step, local redis-server"

export const names = {
  memory: "in-memory breaker.protect, Closed (baseline)",
  redis: "layerRedis breaker.protect, Closed",
  memoryDone: "in-memory breaker.protect(Effect.succeed), Closed",
  redisDone: "layerRedis breaker.protect(Effect.succeed), Closed",
  effectMemory: "effect/persistence breaker, layerStoreMemory, Closed",
  effectRedis: "effect/persistence breaker, layerStoreRedis, Closed",
  memoryOpen: "in-memory breaker.protect, Open, rejection caught",
  redisOpen: "layerRedis breaker.protect, Open, rejection caught"
} as const

class MemoryBreaker extends CircuitBreaker.Service<MemoryBreaker>()("bench/MemoryBreaker") {}
class RedisBreaker extends CircuitBreaker.Service<RedisBreaker>()("bench/RedisBreaker") {}
class Boom extends Data.TaggedError("Boom")<{}> {}

const quick = process.env.BENCH_QUICK === "1"

const targets: ReadonlyArray<Target> = [
  {
    label: "layerRedis Closed call at most 1.2x the in-memory breaker (time ratio)",
    measure: (r) => r.ratio(REDIS, names.redis, REDIS, names.memory),
    compare: "<=",
    limit: 1.2,
    unit: "x"
  },
  {
    label: "layerRedis Closed call on a finished effect at most 1.2x the in-memory breaker (time ratio)",
    measure: (r) => r.ratio(REDIS, names.redisDone, REDIS, names.memoryDone),
    compare: "<=",
    limit: 1.2,
    unit: "x"
  },
  {
    label: "layerRedis Closed call at least 10x faster than layerStoreRedis (time ratio)",
    measure: (r) => r.ratio(REDIS, names.redis, REDIS, names.effectRedis),
    compare: "<=",
    limit: 0.1,
    unit: "x"
  }
]

/** Builds a layer into a scope that lives until the suite closes. */
const build = async <A, E>(layer: Layer.Layer<A, E>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const redisLayer = (url: string) => NodeRedis.layer({ url, disableOfflineQueue: true })

/**
 * Milliseconds from the call that trips a circuit in one process to the other process's Open transition: for a trip
 * the first process decides (its own five failures) and for one decided from the aggregate (3 + 2 failures).
 */
const propagation = (url: string, rounds: number) =>
  Effect.gen(function* () {
    const prefix = `bench-propagation-${process.pid}-${Date.now()}:`
    const node = () =>
      Effect.map(
        Layer.build(
          CircuitBreaker.layerRedis(RedisBreaker, { failureThreshold: 5, resetTimeout: "1 hour" }, { prefix }).pipe(
            Layer.provide(redisLayer(url))
          )
        ),
        (context) => Context.get(context, RedisBreaker)
      )
    const a = yield* node()
    const b = yield* node()
    const fail = (breaker: CircuitBreaker.CircuitBreaker, id: string, times: number) =>
      Effect.repeat(Effect.exit(Effect.fail(new Boom()).pipe(breaker.protect(id))), { times: times - 1 })
    const measure = (id: string, trip: Effect.Effect<unknown>) =>
      Effect.gen(function* () {
        const opened = yield* b.transitions.pipe(
          Stream.filter((t) => t.id === id && t.to === "Open"),
          Stream.runHead,
          Effect.forkChild({ startImmediately: true })
        )
        yield* Effect.sleep("20 millis")
        yield* trip
        const started = performance.now()
        yield* Fiber.join(opened)
        return performance.now() - started
      })
    const local: Array<number> = []
    const aggregate: Array<number> = []
    for (let i = 0; i < rounds; i++) {
      local.push(yield* measure(`local-${i}`, fail(a, `local-${i}`, 5)))
      aggregate.push(
        yield* measure(`aggregate-${i}`, Effect.andThen(fail(a, `aggregate-${i}`, 3), fail(b, `aggregate-${i}`, 2)))
      )
    }
    return {
      local: median(local),
      localMax: Math.max(...local),
      aggregate: median(aggregate),
      aggregateMax: Math.max(...aggregate)
    }
  }).pipe(Effect.scoped, Effect.provide(Logger.layer([])))

/** The Redis layer next to many circuits (see `atScale`): 50,000 ids, 1% of them tripped. */

class ScaleBreaker extends CircuitBreaker.Service<ScaleBreaker>()("bench/ScaleBreaker") {}

interface AtScale {
  /** Wall time of the flush that sends a batch for each of the `ids` circuits (the layer's closing flush). */
  readonly flushMillis: number
  /** The slowest command Redis ran during the whole measurement (`SLOWLOG GET`, commands over 0.5 ms), and its name. */
  readonly slowestMillis: number
  readonly slowest: string
  /** Script calls during the measurement, and their mean duration in Redis (`INFO commandstats`). */
  readonly scripts: number
  readonly meanScriptMillis: number
  /** Circuits the index holds after the flush. */
  readonly indexed: number
  /** Time to build a second layer (its own connection) next to the shared circuits. */
  readonly startMillis: number
  /** Whether the second layer rejects a circuit the first one tripped, at once. */
  readonly adopted: boolean
  /** "Redis unreachable" warnings logged by either layer. */
  readonly unreachable: number
}

/**
 * One layer makes a call on each of `ids` circuits (1% of them fail until they trip), then closes: its closing flush
 * sends every batch. A second layer then starts next to the `ids` shared circuits. Redis logs every command into its
 * SLOWLOG meanwhile.
 */
const atScale = (url: string, ids: number, open: number) =>
  Effect.gen(function* () {
    const prefix = `bench-scale-${process.pid}-${Date.now()}:`
    const raw = Context.get(yield* Layer.build(redisLayer(url)), Redis.Redis)
    yield* raw.send("CONFIG", "SET", "slowlog-log-slower-than", "500")
    yield* raw.send("CONFIG", "SET", "slowlog-max-len", "1000000")
    yield* raw.send("SLOWLOG", "RESET")
    yield* raw.send("CONFIG", "RESETSTAT")
    let unreachable = 0
    const capture = Logger.layer([
      Logger.make(({ message }) => {
        if (String(message).includes("unreachable")) unreachable++
      })
    ])
    const layer = CircuitBreaker.layerRedis(
      ScaleBreaker,
      { failureThreshold: 5, resetTimeout: "1 hour" },
      { prefix, flushInterval: "1 hour", syncInterval: "1 hour" }
    ).pipe(Layer.provide(redisLayer(url)))
    const first = yield* Scope.make()
    const a = Context.get(yield* Layer.buildWithScope(layer, first).pipe(Effect.provide(capture)), ScaleBreaker)
    for (let i = 0; i < ids; i++) {
      const id = `user-${i}`
      yield* Effect.exit((i < open ? Effect.fail(new Boom()) : Effect.void).pipe(a.protect(id)))
      if (i < open) yield* Effect.repeat(Effect.exit(Effect.fail(new Boom()).pipe(a.protect(id))), { times: 3 })
      // Let I/O in, as a server between requests does.
      if (i % 100 === 99) yield* Effect.sleep(1)
    }
    // The first reads and the trips go out on their own; the outcomes wait for the flush.
    yield* Effect.sleep("2 seconds")
    const flushStarted = performance.now()
    yield* Scope.close(first, Exit.void)
    const flushMillis = performance.now() - flushStarted
    const old = (yield* raw.send<string>("TYPE", `${prefix}bench/ScaleBreaker:circuits`)) === "set"
    const indexed = old
      ? yield* raw.send<number>("SCARD", `${prefix}bench/ScaleBreaker:circuits`)
      : yield* raw.send<number>("ZCARD", `${prefix}bench/ScaleBreaker:index`)
    const second = yield* Scope.make()
    const started = performance.now()
    const b = Context.get(yield* Layer.buildWithScope(layer, second).pipe(Effect.provide(capture)), ScaleBreaker)
    const startMillis = performance.now() - started
    const adopted = (yield* b.state("user-0")) === "Open"
    yield* Scope.close(second, Exit.void)
    const log = yield* raw.send<ReadonlyArray<[number, number, number, ReadonlyArray<string>]>>(
      "SLOWLOG",
      "GET",
      "1000000"
    )
    const stats = yield* raw.send<string>("INFO", "commandstats")
    const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(stats)
    yield* raw.send("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    yield* raw.send("CONFIG", "SET", "slowlog-max-len", "128")
    const slowest = log.reduce<(typeof log)[number] | undefined>(
      (max, entry) => (max === undefined || entry[2] > max[2] ? entry : max),
      undefined
    )
    return {
      flushMillis,
      scripts: evalsha === null ? 0 : Number(evalsha[1]),
      meanScriptMillis: evalsha === null ? 0 : Number(evalsha[2]) / Number(evalsha[1]) / 1000,
      slowestMillis: slowest === undefined ? 0 : slowest[2] / 1000,
      slowest: slowest === undefined ? "none over 0.5 ms" : `${slowest[3][0]} ${slowest[3][2] ?? ""} keys`.trim(),
      indexed: Number(indexed),
      startMillis,
      adopted,
      unreachable
    } satisfies AtScale
  }).pipe(Effect.scoped)

/** Two OS processes hammering one shared circuit at once; calls per second of each. */
const twoProcesses = async (url: string, kind: "ours" | "effect", millis: number): Promise<Array<number>> => {
  const prefix = `bench-${kind}-${process.pid}-${Date.now()}:`
  const script = new URL("./_redisWorker.ts", import.meta.url).pathname
  const workers = [0, 1].map(() => {
    const child = spawn(process.execPath, [...process.execArgv, script, url, prefix, kind, String(millis)], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const lines: Array<string> = []
    let waiting: (() => void) | undefined
    let buffer = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8")
      let newline = buffer.indexOf("\n")
      while (newline >= 0) {
        lines.push(buffer.slice(0, newline))
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf("\n")
      }
      waiting?.()
    })
    const next = async (): Promise<Record<string, unknown>> => {
      while (lines.length === 0) {
        if (child.exitCode !== null) throw new Error(`a ${kind} worker exited with ${child.exitCode}`)
        await new Promise<void>((resolve) => {
          waiting = resolve
          setTimeout(resolve, 200)
        })
      }
      return JSON.parse(lines.shift()!) as Record<string, unknown>
    }
    return { child, next }
  })
  try {
    for (const worker of workers) await worker.next()
    for (const worker of workers) worker.child.stdin.write("go\n")
    const results = await Promise.all(workers.map((worker) => worker.next()))
    return results.map((result) => Number(result.callsPerSecond))
  } finally {
    for (const worker of workers) worker.child.kill("SIGKILL")
  }
}

const formatRate = (perSecond: number) =>
  perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M` : `${(perSecond / 1e3).toFixed(1)} k`

export const suite = async (): Promise<Suite> => {
  if (!isRedisServerAvailable()) throw new Error(installHint)
  const server = await startRedisServer()
  try {
    const prefix = `bench-${process.pid}-${Date.now()}:`
    const memory = await build(CircuitBreaker.layer(MemoryBreaker, { failureThreshold: 5, resetTimeout: "60 seconds" }))
    const redis = await build(
      CircuitBreaker.layerRedis(RedisBreaker, { failureThreshold: 5, resetTimeout: "60 seconds" }, { prefix }).pipe(
        Layer.provide(redisLayer(server.url))
      )
    )
    const effectMemory = await build(
      EffectBreaker.layer({ tripPolicy: EffectBreaker.consecutive(5), openDuration: "1 hour" }).pipe(
        Layer.provide(EffectBreaker.layerStoreMemory())
      )
    )
    const effectRedis = await build(
      EffectBreaker.layer({ tripPolicy: EffectBreaker.consecutive(5), openDuration: "1 hour" }).pipe(
        Layer.provide(EffectBreaker.layerStoreRedis({ prefix: `${prefix}effect:` })),
        Layer.provide(redisLayer(server.url))
      )
    )
    const ours = Context.get(memory.context, MemoryBreaker)
    const shared = Context.get(redis.context, RedisBreaker)
    const effectMemoryBreaker = Context.get(effectMemory.context, EffectBreaker.CircuitBreaker)
    const effectRedisBreaker = Context.get(effectRedis.context, EffectBreaker.CircuitBreaker)
    await Effect.runPromise(Effect.andThen(ours.open("open"), shared.open("open")))

    const rounds = quick ? 3 : 15
    const latency = await Effect.runPromise(propagation(server.url, rounds))
    const millis = quick ? 300 : 1_500
    const oursPerProcess = await twoProcesses(server.url, "ours", millis)
    const effectPerProcess = await twoProcesses(server.url, "effect", millis)

    const step = Effect.sync(() => 1)
    const done = Effect.succeed(1)
    const caught = <A>(effect: Effect.Effect<A, CircuitBreaker.CircuitOpenError>) =>
      effect.pipe(Effect.catchTag("CircuitOpenError", () => Effect.succeed(2)))
    const rate = (values: ReadonlyArray<number>) => values.map(formatRate).join(" + ")
    return {
      name: REDIS,
      description: [
        "`for (…) yield* step` in one Effect.gen; the step (`Effect.sync(() => 1)` through a breaker) is built once.",
        `Two OS processes sharing one circuit, calls/s per process: layerRedis ${rate(oursPerProcess)}/s; ` +
          `effect/persistence layerStoreRedis ${rate(effectPerProcess)}/s.`,
        `Trip to the other process's Open (${rounds} rounds, median / max): decided by one process ` +
          `${latency.local.toFixed(1)} / ${latency.localMax.toFixed(1)} ms; from the aggregate of two ` +
          `${latency.aggregate.toFixed(1)} / ${latency.aggregateMax.toFixed(1)} ms (flushInterval 100 ms).`
      ].join("\n"),
      unit: "call",
      baseline: names.memory,
      cases: [
        effectLoop(names.memory, step.pipe(ours.protect("closed"))),
        effectLoop(names.redis, step.pipe(shared.protect("closed"))),
        effectLoop(names.memoryDone, done.pipe(ours.protect("closed"))),
        effectLoop(names.redisDone, done.pipe(shared.protect("closed"))),
        effectLoop(names.effectMemory, step.pipe(effectMemoryBreaker.execute({ key: "closed" }))),
        effectLoop(names.effectRedis, step.pipe(effectRedisBreaker.execute({ key: "closed" }))),
        effectLoop(names.memoryOpen, caught(step.pipe(ours.protect("open")))),
        effectLoop(names.redisOpen, caught(step.pipe(shared.protect("open"))))
      ],
      targets,
      close: async () => {
        await redis.close()
        await effectRedis.close()
        await memory.close()
        await effectMemory.close()
        await server.stop()
      }
    }
  } catch (error) {
    await server.stop()
    throw error
  }
}

/** The Redis layer next to 50,000 circuits (5,000 in a quick run), 1% of them tripped; see `atScale`. */
export const figures: ReadonlyArray<FigureProbe> = [
  {
    name: "layerRedis next to many circuits",
    measure: async (quick) => {
      if (!isRedisServerAvailable()) throw new Error(installHint)
      const ids = quick ? 5_000 : 50_000
      const open = ids / 100
      const server = await startRedisServer()
      try {
        const scale = await Effect.runPromise(atScale(server.url, ids, open).pipe(Effect.provide(Logger.layer([]))))
        const count = ids.toLocaleString("en-US")
        return [
          {
            what: `flush of ${count} changed circuits (the closing flush of the layer that used them)`,
            measured: `${scale.flushMillis.toFixed(0)} ms; ${scale.indexed.toLocaleString("en-US")} circuits indexed`,
            goal: "nothing lost (before: one script over every circuit, timed out and lost)",
            met: scale.indexed === ids
          },
          {
            what: "script calls of the whole run (INFO commandstats)",
            measured: `${scale.scripts} calls, ${scale.meanScriptMillis.toFixed(2)} ms on average`,
            goal: "a few ms each",
            met: scale.meanScriptMillis <= 5
          },
          {
            what: "slowest Redis command of the whole run (SLOWLOG GET)",
            measured: `${scale.slowestMillis.toFixed(2)} ms (${scale.slowest})`,
            goal: "<= 5 ms (before: 237 ms at 5,000 circuits)",
            met: scale.slowestMillis <= 5
          },
          {
            what: `start-up of a second layer next to ${count} shared circuits (${open} tripped)`,
            measured: `${scale.startMillis.toFixed(0)} ms; ${scale.adopted ? "rejects" : "ADMITS"} a tripped circuit at once`,
            goal: "< 1 s, tripped circuits adopted",
            met: scale.startMillis < 1_000 && scale.adopted
          },
          {
            what: '"Redis unreachable" warnings of both layers',
            measured: String(scale.unreachable),
            goal: "0 (Redis is healthy)",
            met: scale.unreachable === 0
          }
        ]
      } finally {
        await server.stop()
      }
    }
  }
]
