// The Redis-backed breaker (`CircuitBreaker.layerRedis`) against the in-memory one on the same Closed call, side by
// side with Effect 4.1's `effect/persistence` breaker on `layerStoreRedis` (two Redis round trips per call), against a
// redis-server started for the run on a free loopback port. Measured while setting up, and printed under the table:
// calls per second per process with two OS processes sharing one circuit, and how long a trip takes to reach another
// process (the consistency bound). Skipped, with the install hint, when redis-server is missing.
import { spawn } from "node:child_process"
import { NodeRedis } from "@effect/platform-node"
import { Context, Data, Effect, Exit, Fiber, Layer, Logger, Scope, Stream } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import { CircuitBreaker } from "effect-fallback"
import { installHint, isRedisServerAvailable, startRedisServer } from "../test/support/redisServer.ts"
import { effectLoop, median, type Suite, type Target } from "./harness.ts"

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
